"""Global latent variables over whole weight tensors: their prior, mean-field posterior and KL.

A Bayesian decoder samples ~20 M weights per step, so each pass over them costs ~20 ms on two CPU
cores. Torch's generic ``Normal`` and its KL make about ten such passes forward and as many
backward; here the prior has one scalar location and scale, the KL (registered with
``kl_divergence``, which the objective uses) is a few reductions, and a training draw and its KL
come from one autograd node whose hand-written backward writes each gradient in one or two passes.
On the CPU, the trainer gives large training draws their noise from a :class:`NoisePool`: it costs
a fraction of fresh normals.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import pyro.distributions as dist
import torch
from torch.distributions import constraints, register_kl

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)

#: Below this many entries, noise is drawn in one call.
PARALLEL_NOISE = 1 << 20
#: From this many entries, a NoisePool serves a training draw; smaller ones cost little.
POOLED_NOISE = 1 << 20


def standard_normal(shape, dtype=torch.float32, device=None, generator=None) -> torch.Tensor:
    """N(0, 1) noise of ``shape``, seeded by ``generator`` (default: torch's global one).

    Torch draws CPU normals on one thread (~100 ms for a 20 M-entry weight tensor); large draws
    here are split into one chunk per thread, each from a generator seeded from the given one,
    so runs stay reproducible under ``torch.manual_seed``.
    """
    noise = torch.empty(shape, dtype=dtype, device=device)
    threads = torch.get_num_threads()
    if noise.device.type != "cpu" or noise.numel() < PARALLEL_NOISE or threads == 1:
        return noise.normal_(generator=generator)
    seeds = torch.randint(2**62, (threads,), generator=generator).tolist()
    chunks = noise.view(-1).chunk(threads)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    list(_pool(threads).map(lambda c, g: c.normal_(generator=g), chunks, generators))
    return noise


@cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="noise")


class NoisePool:
    """Recycled N(0, 1) noise for the large training draws on the CPU.

    Fresh normals for the paper model's 20 M output weights take ~90 ms of a ~300 ms step on two
    CPU cores. Here a pool of 2n normals serves ``steps`` steps: each draw of n numbers is the
    window at a uniformly random offset, so every draw is exactly N(0, I) and the gradient stays
    unbiased; one weight meets a different pool entry at each step. The k-th large draw of a step
    has a pool of its own, so the tensors of one step are independent. Each pool is rebuilt from a
    seed, and :meth:`state` holds the seeds, so a resumed run continues exactly.

    Parameters
    ----------
    steps : int
        Steps each pool serves before new ones are drawn.
    """

    def __init__(self, steps: int):
        self.steps, self.served, self.seeds = steps, 0, []
        self.pools: list[torch.Tensor | None] = []
        self.drawn = 0  # large draws so far in this step

    def takes(self, shape, device) -> bool:
        """Whether a draw of this shape comes from the pool (large, on the CPU)."""
        return torch.device(device).type == "cpu" and torch.Size(shape).numel() >= POOLED_NOISE

    def draw(self, shape, dtype=torch.float32) -> torch.Tensor:
        """The next N(0, I) draw of ``shape``: a view into a pool, not to be written to."""
        count, k = torch.Size(shape).numel(), self.drawn
        self.drawn += 1
        if k == len(self.seeds):  # a new round's first step: draw k's pool is new
            self.seeds.append(int(torch.randint(2**62, ())))
            self.pools.append(None)
        pool = self.pools[k]
        if pool is None or pool.numel() != 2 * count or pool.dtype != dtype:
            seeded = torch.Generator().manual_seed(self.seeds[k])
            self.pools[k] = standard_normal((2 * count,), dtype, generator=seeded)
        offset = int(torch.randint(count + 1, ()))
        return self.pools[k][offset : offset + count].view(shape)

    def end_step(self) -> None:
        """Call after each training step: after ``steps`` of them, the next step draws new pools."""
        self.drawn, self.served = 0, self.served + 1
        if self.served == self.steps:
            self.served, self.seeds, self.pools = 0, [], []

    def state(self) -> dict:
        return {"served": self.served, "seeds": list(self.seeds)}

    def restore(self, state: dict) -> None:
        self.served, self.seeds = state["served"], list(state["seeds"])
        self.pools, self.drawn = [None] * len(self.seeds), 0


class IsotropicNormal(dist.TorchDistribution):
    """N(loc, scale²) independently for every entry of a tensor of ``shape``: one event.

    Parameters
    ----------
    loc, scale : float
    shape : tuple of int
    device : torch.device or str
    """

    arg_constraints = {}
    has_rsample = True

    def __init__(self, loc: float, scale: float, shape, device=None):
        self.loc, self.scale, self.device = float(loc), float(scale), device
        super().__init__(torch.Size(), torch.Size(shape), validate_args=False)

    @property
    def support(self):
        return constraints.independent(constraints.real, len(self.event_shape))

    def rsample(self, sample_shape=()):
        noise = torch.randn(torch.Size(sample_shape) + self.event_shape, device=self.device)
        return self.loc + self.scale * noise

    def log_prob(self, value):
        dims = tuple(range(-len(self.event_shape), 0))
        standard = (value - self.loc) / self.scale
        count = self.event_shape.numel()
        return -0.5 * standard.square().sum(dims) - count * (math.log(self.scale) + HALF_LOG_2PI)


class MeanFieldNormal(dist.TorchDistribution):
    """Π_i N(loc_i, exp(log_scale_i)²) over a tensor: one event, reparameterised.

    Parameters
    ----------
    loc, log_scale : torch.Tensor
        Same shape; the variational parameters.
    prior : tuple of float, optional
        (m, s) of the isotropic prior N(m, s²) the KL will be taken against. Given it, a draw with
        gradients on computes that KL in the same autograd node, so that the backward pass writes
        each parameter's gradient once instead of summing two. On the paper's 20 M output weights
        the draw, the KL and their gradients went from 224 to 197 ms on two CPU cores.
    noise : NoisePool, optional
        Where a training draw (gradients on) takes its noise from, if the pool takes its shape;
        otherwise, and always without gradients (scoring), noise is fresh.
    """

    arg_constraints = {}
    has_rsample = True

    def __init__(self, loc: torch.Tensor, log_scale: torch.Tensor, prior=None, noise=None):
        self.loc, self.log_scale, self.prior, self.noise = loc, log_scale, prior, noise
        self.scale = log_scale.detach().exp()  # gradients flow through the functions below
        self.drawn_kl = None  # (prior, KL) of the last draw, when it made one
        super().__init__(torch.Size(), loc.shape, validate_args=False)

    @property
    def support(self):
        return constraints.independent(constraints.real, len(self.event_shape))

    def rsample(self, sample_shape=()):
        shape = torch.Size(sample_shape) + self.event_shape
        pool, training = self.noise, torch.is_grad_enabled()
        if training and pool is not None and pool.takes(shape, self.loc.device):
            noise = pool.draw(shape, self.loc.dtype)
        else:
            noise = standard_normal(shape, self.loc.dtype, self.loc.device)
        if not training:
            return torch.addcmul(self.loc, noise, self.scale)
        if sample_shape or self.prior is None:
            return self.loc + self.log_scale.exp() * noise
        value, kl = _DrawWithKL.apply(self.loc, self.log_scale, self.scale, noise, *self.prior)
        self.drawn_kl = self.prior, kl
        return value

    def log_prob(self, value):
        dims = tuple(range(-len(self.event_shape), 0))
        standard = (value - self.loc) / self.log_scale.exp()
        return -(0.5 * standard.square() + self.log_scale).sum(dims) - (
            self.event_shape.numel() * HALF_LOG_2PI
        )


def _kl(loc, log_scale, scale, prior_loc: float, prior_scale: float) -> torch.Tensor:
    """KL(Π N(μ_i, σ_i²) ‖ Π N(m, s²)) = Σ_i [log s − log σ_i + (σ_i² + (μ_i − m)²) / 2s² − ½]."""
    flat_scale, offset = scale.reshape(-1), loc.reshape(-1)
    if prior_loc:
        offset = offset - prior_loc
    squares = torch.dot(flat_scale, flat_scale) + torch.dot(offset, offset)
    count = flat_scale.numel()
    return squares / (2 * prior_scale**2) - log_scale.sum() + count * (math.log(prior_scale) - 0.5)


class _DrawWithKL(torch.autograd.Function):
    """w = μ + σ·ε (σ = exp(log σ), given) and KL(q ‖ N(m, s²)) from one node.

    With upstream gradients g_w and g_kl:
    ∂/∂μ = g_w + g_kl·(μ − m)/s² and ∂/∂log σ = g_w·σε + g_kl·(σ²/s² − 1), each one pass.
    """

    @staticmethod
    def forward(ctx, loc, log_scale, scale, noise, prior_loc: float, prior_scale: float):
        scaled = noise * scale  # not in place: the noise may be a pool's
        ctx.save_for_backward(loc, scale, scaled)
        ctx.prior = prior_loc, prior_scale
        ctx.set_materialize_grads(False)
        return loc + scaled, _kl(loc, log_scale, scale, prior_loc, prior_scale)

    @staticmethod
    def backward(ctx, grad_value, grad_kl):
        loc, scale, scaled = ctx.saved_tensors
        prior_loc, prior_scale = ctx.prior
        if grad_kl is None:
            return grad_value, grad_value * scaled, None, None, None, None
        factor = float(grad_kl) / prior_scale**2
        offset = -prior_loc * factor
        grad_log_scale = torch.addcmul(-grad_kl, scale, scale, value=factor)
        if grad_value is None:
            return loc * factor + offset, grad_log_scale, None, None, None, None
        grad_loc = torch.add(grad_value, loc, alpha=factor)
        if offset:
            grad_loc += offset
        return grad_loc, grad_log_scale.addcmul_(grad_value, scaled), None, None, None, None


@register_kl(MeanFieldNormal, IsotropicNormal)
def _kl_meanfield_isotropic(q: MeanFieldNormal, p: IsotropicNormal) -> torch.Tensor:
    if q.drawn_kl is not None and q.drawn_kl[0] == (p.loc, p.scale):
        return q.drawn_kl[1]
    return _kl(q.loc, q.log_scale, q.log_scale.exp(), p.loc, p.scale)
