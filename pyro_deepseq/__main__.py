"""``deepseq COMMAND …`` (or ``python -m pyro_deepseq COMMAND …``): every command in one place.

``deepseq fit …`` is ``python -m pyro_deepseq.fit …``, and so on for each command.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

COMMANDS = {
    "fit": "train a model on an alignment",
    "predict": "score variants with trained runs",
    "embed": "latent coordinates of sequences",
    "classify": "clinical classes of every single substitution, as EVE",
    "proteingym": "evaluate or compare a ProteinGym run (see sweep --proteingym)",
    "align": "build a model-ready alignment from a sequence and a database",
    "inspect": "summarise an alignment (and a DMS table) before training",
    "sweep": "many families × seeds on Ray",
    "tune": "search a family's model settings by held-out likelihood, on Ray Tune",
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        width = max(map(len, COMMANDS))
        lines = [f"  {name:<{width}}  {what}" for name, what in COMMANDS.items()]
        print("usage: deepseq COMMAND [options]  (deepseq COMMAND --help)\n\ncommands:")
        print("\n".join(lines))
        known = not argv or argv[0] in ("-h", "--help")
        if not known:
            print(f"\nerror: unknown command {argv[0]!r}", file=sys.stderr)
        return 0 if known else 2
    module = importlib.import_module(f"pyro_deepseq.cli.{argv[0]}")
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
