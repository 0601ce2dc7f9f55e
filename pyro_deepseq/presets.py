"""Named settings: the released DeepSequence run, and the fastest CPU schedule measured so far.

Each preset is a pair (model settings, training settings) for :class:`~pyro_deepseq.config.
ModelConfig` and :class:`~pyro_deepseq.config.TrainConfig`; flags given next to a preset win.
"""

from __future__ import annotations

import math

#: The original's Adam never advanced its step counter, so its bias correction stayed at
#: √(1 − β2) / (1 − β1): its updates were those of a standard Adam at this learning rate.
PAPER_LR = 1e-3 * math.sqrt(1 - 0.999) / (1 - 0.9)

PRESETS = {
    # run_svi.py: the architecture and initialisation are the model's defaults.
    "paper": ({"model": "bayesian"}, {"steps": 300_000, "batch_size": 100, "lr": PAPER_LR}),
    # BLAT, seed 0, 2 CPU cores: ρ 0.728 after 7,000 steps (53 min; 500 samples). A step's fixed
    # cost (drawing 20 M weights) dominates, so batch 400 costs 1.5× batch 100 for 4× the data;
    # batch 100 at a constant lr reached 0.711 in 8,000 steps (42 min). Short of the paper's 0.744.
    "fast": (
        {"model": "bayesian"},
        {"steps": 7_000, "batch_size": 400, "lr": 3e-3, "lr_schedule": "cosine"},
    ),
}
