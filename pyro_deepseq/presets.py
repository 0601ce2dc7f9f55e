"""Named settings: the released DeepSequence run, and the fastest CPU schedule measured so far.

Each preset is a pair (model settings, training settings) for :class:`~pyro_deepseq.config.
ModelConfig` and :class:`~pyro_deepseq.config.TrainConfig`; flags given next to a preset win.
"""

from __future__ import annotations

import math

#: The original's Adam never advanced its step counter, so its bias correction stayed at
#: √(1 − β2) / (1 − β1): its updates were those of a standard Adam at this learning rate.
PAPER_LR = 1e-3 * math.sqrt(1 - 0.999) / (1 - 0.9)

#: The preset ``fit --alignment`` uses when none is given: chosen by :func:`auto_preset`.
AUTO = "auto"

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


def auto_preset(num_sequences: int, length: int, neff: float) -> tuple[dict, dict, str]:
    """The default settings for an alignment of N sequences, L focus columns and Neff.

    Returns the model settings, the training settings and one line saying what was chosen and
    why. Pure: the same numbers always give the same choice.
    """
    depth = neff / length
    model = {
        "model": "bayesian",
        "encoder_hidden": (500,),
        "decoder_hidden": (100, 500),
        "site_offset": True,
    }
    train = {"steps": 6_000, "batch_size": 100, "lr": 3e-3, "lr_schedule": "cosine"}
    kind = "shallow" if depth < 1 else "deep"
    reason = (
        f"auto preset: Neff/L = {depth:.2f} ({kind}; N {num_sequences:,}, L {length}, "
        f"Neff {neff:,.0f}): the fast preset's networks and schedule, logits offset by the "
        "site-independent model"
    )
    return model, train, reason
