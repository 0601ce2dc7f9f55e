"""``python -m pyro_deepseq.fit``, kept working: the command is ``pyro_deepseq.cli.fit``."""

from .cli.fit import main

if __name__ == "__main__":
    raise SystemExit(main())
