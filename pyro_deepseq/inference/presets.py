"""Named settings: the released DeepSequence run, EVE's run, and the fastest CPU schedule measured
so far.

Each preset is a pair (model settings, training settings) for
:class:`~pyro_deepseq.inference.config.ModelConfig` and
:class:`~pyro_deepseq.inference.config.TrainConfig`; flags given next to a preset win.
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
    # EVE (Frazer et al., Nature 2021), EVE/default_model_params.json of OATML-Markslab/EVE: the
    # same Bayesian VAE, encoder 2000-1000-300 (ReLU, no dropout), latent 50, decoder
    # 300-1000-2000 with ReLU on every hidden layer and dropout 0.1 (on z and after each hidden
    # layer, as EVE's decoder applies it), no group sparsity, output convolution of depth 40, a
    # temperature; Adam at 1e-4 without weight decay (l2_regularization 0) or schedule, batch 256
    # drawn by sequence weight, 400,000 steps, no warm-up, both KL terms at weight 1. EVE draws
    # fresh weight noise every step (noise_pool_steps 1). Not expressed here: EVE's hidden layers
    # start from PyTorch's default initialisation, ours from the original's Glorot-normal. EVE
    # scores with 20,000 samples (examples/Step2_predict_ELBO.sh); a preset sets training only:
    # score with ``predict --samples 20000``. Slow on a CPU; the GPU reference.
    "eve": (
        {
            "model": "bayesian",
            "encoder_hidden": (2000, 1000, 300),
            "latent_dim": 50,
            "decoder_hidden": (300, 1000, 2000),
            "last_activation": "relu",
            "decoder_dropout": 0.1,
            "group_sparsity": False,
            "conv_size": 40,
            "temperature": True,
        },
        {
            "steps": 400_000,
            "batch_size": 256,
            "lr": 1e-4,
            "lr_schedule": "constant",
            "sampling": "weighted",
            "kl_warmup": 0,
            "noise_pool_steps": 1,
        },
    ),
}


#: Neff / L from which the auto preset trains the VAE (the fast preset) rather than fall back to the
#: site-independent model, when the columns also vary (:data:`VARIED`). On the depth ladder
#: (docs/accuracy.md) the fast preset at 6,000 steps beat the site-independent model at Neff/L 1
#: on BLAT (+0.06) and KKA2 (+0.08) and matched it on DHFR (+0.003) at seeds 0-2, at Neff/L 3 on
#: all three, and on every full family that varies; below 1 no VAE setting did (2,000 steps).
DEEP = 1.0
#: Mean entropy per focus column (nats) below which the auto preset keeps the site-independent
#: model however deep the alignment: POLG at θ = 0.01 (Neff/L 18.9, 0.59 nats) lost 0.09 with the
#: VAE (0.05-0.17 with each of EVE's changes, three seeds), while every family that gained has
#: 1.65-2.1 nats per column.
VARIED = 1.0
#: Neff/L below which the auto preset's VAE goes without group sparsity. Against the fast preset at
#: the same seeds (docs/accuracy.md): at Neff/L 1 KKA2 +0.052, DHFR +0.010, BLAT level; KKA2 at 2
#: +0.011; at 3 KKA2 −0.027, BLAT −0.017, DHFR +0.005; on deep families level or worse.
SPARSE = 3.0
#: The best shallow VAE measured (DHFR@0.3, @1.0: ρ 0.245 and 0.321 against 0.141 and 0.139 with
#: the original's log σ = −5): the site-independent offset, and posterior widths that start at
#: e⁻¹ rather than e⁻⁵. Used when the user asks for the VAE on a shallow alignment.
SHALLOW_VAE = {"site_offset": True, "initial_log_scale": -1.0}


def auto_preset(
    num_sequences: int, length: int, neff: float, entropy: float, vae: bool = False
) -> tuple[dict, dict, str]:
    """The default settings for an alignment of N sequences, L focus columns and Neff.

    Parameters
    ----------
    num_sequences, length : int
    neff : float
    entropy : float
        The site-independent model's mean entropy per focus column, in nats
        (:meth:`~pyro_deepseq.models.independent.SiteIndependentModel.entropy`).
    vae : bool
        The user asked for the Bayesian VAE (``--model bayesian`` or one of its settings): on a
        shallow alignment, train it with :data:`SHALLOW_VAE` rather than fall back to the
        site-independent model.

    Returns
    -------
    model, train : dict
        Settings for :class:`~pyro_deepseq.inference.config.ModelConfig` and
        :class:`~pyro_deepseq.inference.config.TrainConfig` (flags given by the user override them).
    reason : str
        One line: what was chosen and why. Pure: the same numbers always give the same choice.
    """
    depth = neff / length
    head = f"auto preset: Neff/L {depth:.2f}, {entropy:.2f} nats per column ("
    sizes = f"N {num_sequences:,}, L {length}, Neff {neff:,.0f}"
    model, train = dict(PRESETS["fast"][0]), dict(PRESETS["fast"][1])
    if depth >= DEEP and entropy >= VARIED:
        reason = "the Bayesian VAE with the fast preset's networks and schedule"
        if depth < SPARSE:
            model["group_sparsity"] = False
            reason += f", without group sparsity (Neff/L below {SPARSE:g})"
        return model, train, f"{head}deep and varied; {sizes}): {reason}"
    why = (
        f"shallow, Neff/L below {DEEP:g}"
        if depth < DEEP
        else f"varies little, below {VARIED:g} nat"
    )
    head = f"{head}{why}; {sizes}): "
    if vae:
        reason = "the Bayesian VAE as asked, offset by the site-independent model, log σ from -1"
        return {**model, **SHALLOW_VAE}, train, head + reason
    reason = (
        "the site-independent model, which the VAE did not beat on such alignments "
        "(--model bayesian trains the VAE anyway)"
    )
    return {"model": "independent"}, {}, head + reason
