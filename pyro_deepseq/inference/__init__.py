"""Training: settings and presets, the SVI loop with its schedules, and checkpoints."""
