"""Workflows over many runs: the sweep's run descriptions and retries, ProteinGym's benchmark."""
