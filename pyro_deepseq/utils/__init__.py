"""What every layer shares: devices, atomic file writes, the cache folder, the CLI wrapper."""
