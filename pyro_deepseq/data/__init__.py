"""The data layer: alignments, sequence weights, mutants and DMS tables, the synthetic family."""
