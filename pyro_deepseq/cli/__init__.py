"""The commands: each parses its flags, calls the library and reports; ``deepseq NAME`` runs one."""
