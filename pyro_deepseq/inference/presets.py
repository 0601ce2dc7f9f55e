"""Named settings: the released DeepSequence run, and the fastest CPU schedule measured so far.

Each preset is a pair (model settings, training settings) for
:class:`~pyro_deepseq.inference.config.ModelConfig` and
:class:`~pyro_deepseq.inference.config.TrainConfig`; flags given next to a preset win.
"""

from __future__ import annotations

import math

#: The original's Adam never advanced its step counter, so its bias correction stayed at
#: √(1 − β2) / (1 − β1): its updates were those of a standard Adam at this learning rate.
PAPER_LR = 1e-3 * math.sqrt(1 - 0.999) / (1 - 0.9)

PRESETS = {
    # run_svi.py: the architecture and initialisation are the model's defaults.
    "paper": ({"model": "bayesian"}, {"steps": 300_000, "batch_size": 100, "lr": PAPER_LR}),
    # BLAT, 2 CPU cores, 500 samples: ρ 0.743, 0.750, 0.737 (seeds 0-2, noise pool) after 10
    # minutes of training on a slow day (fresh noise, another day: 0.740, 0.743, 0.740 after 8
    # minutes). Narrower networks than the paper's (encoder 500, decoder 100-500) train 4× faster
    # per step and reached a higher ρ sooner: the paper's widths at batch 400 gave 0.728 after
    # 53 minutes. Batch 100 beats larger batches in wall time: the posterior widths need
    # thousands of Adam steps to settle, and at batch 400 these widths gave 0.676 after 2,000
    # steps (7 minutes); lr 6e-3 diverged.
    "fast": (
        {"model": "bayesian", "encoder_hidden": (500,), "decoder_hidden": (100, 500)},
        {"steps": 6_000, "batch_size": 100, "lr": 3e-3, "lr_schedule": "cosine"},
    ),
}
