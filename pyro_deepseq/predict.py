"""``python -m pyro_deepseq.predict``, kept working: the command is ``pyro_deepseq.cli.predict``."""

from .cli.predict import main

if __name__ == "__main__":
    raise SystemExit(main())
