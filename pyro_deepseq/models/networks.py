"""Neural-network building blocks shared by the models, and the Pyro setting they run under."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import pyro
import torch
from torch import nn


def glorot_(layer: nn.Module, bias: float = 0.1) -> nn.Module:
    """The original's initialisation: Glorot-normal weights, biases 0.1."""
    nn.init.xavier_normal_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        nn.init.constant_(layer.bias, bias)
    return layer


class SequenceEmbedding(nn.Module):
    """``one_hot(codes) @ W + b`` computed as a gather-and-sum over integer codes.

    The result equals a dense layer on the flattened one-hot sequence (gaps all-zero) with
    ``length · letters`` inputs, at 1/letters of the multiply-adds and without building the one-hot.

    Parameters
    ----------
    length, letters, out_features : int
    """

    def __init__(self, length: int, letters: int, out_features: int):
        super().__init__()
        self.letters = letters
        self.gap_index = length * letters
        self.bag = nn.EmbeddingBag(
            self.gap_index + 1, out_features, mode="sum", padding_idx=self.gap_index
        )
        self.bias = nn.Parameter(torch.full((out_features,), 0.1))
        std = (2.0 / (length * letters + out_features)) ** 0.5  # Glorot for the dense equivalent
        with torch.no_grad():
            self.bag.weight.normal_(0.0, std)
            self.bag.weight[self.gap_index] = 0.0
        self.register_buffer("offsets", torch.arange(length) * letters, persistent=False)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """(..., L) long codes → (..., out_features)."""
        index = torch.where(codes < self.letters, codes + self.offsets, self.gap_index)
        flat = self.bag(index.reshape(-1, index.shape[-1]))
        return (flat + self.bias).reshape(*codes.shape[:-1], -1)


#: The nonlinearities a decoder's last hidden layer may take: the original's sigmoid, EVE's ReLU.
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}


def dropout(p: float) -> nn.Module:
    """``nn.Dropout(p)``, or the identity for p = 0: models without dropout draw no random
    numbers for it, so their runs stay those of the versions before dropout existed."""
    return nn.Dropout(p) if p > 0 else nn.Identity()


@contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in evaluation mode (dropout off) while inside; its earlier mode after.

    Scoring, held-out ELBOs and embeddings run inside, so they are deterministic given the seed
    whatever mode training left the module in.
    """
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def mlp(
    sizes: Sequence[int], last_activation: nn.Module | None = None, dropout_p: float = 0.0
) -> nn.Sequential:
    """Dense layers ``sizes[0] → … → sizes[-1]``, ReLU between them, ``last_activation`` after;
    dropout with probability ``dropout_p`` after every activation, in the activation's slot so
    that the parameters keep the names they have without it."""
    layers: list[nn.Module] = []
    for i, (inputs, outputs) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(glorot_(nn.Linear(inputs, outputs)))
        last = i == len(sizes) - 2
        activation = last_activation if last else nn.ReLU()
        if activation is not None and dropout_p:
            activation = nn.Sequential(activation, dropout(dropout_p))
        if activation is not None:
            layers.append(activation)
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """Amortised Gaussian encoder q(z | x): codes → hidden layers (ReLU) → (loc, scale).

    The log-scale head's bias starts at −5 (the original's), so early training is nearly
    deterministic in z.
    """

    def __init__(self, length: int, letters: int, hidden: Sequence[int], latent_dim: int):
        super().__init__()
        if not hidden:
            raise ValueError("the encoder needs at least one hidden layer")
        self.embed = SequenceEmbedding(length, letters, hidden[0])
        self.body = mlp(hidden, nn.ReLU()) if len(hidden) > 1 else nn.Identity()
        self.loc = glorot_(nn.Linear(hidden[-1], latent_dim))
        self.log_scale = glorot_(nn.Linear(hidden[-1], latent_dim), bias=-5.0)
        self._reused: tuple | None = None  # (codes, features) inside reusing_features()

    def features(self, codes: torch.Tensor) -> torch.Tensor:
        """The last hidden layer (the Ladder VAE's first bottom-up state)."""
        if self._reused is not None and self._reused[0] is codes:
            return self._reused[1]
        hidden = self.body(torch.relu(self.embed(codes)))
        if self._reused is not None:
            self._reused = (codes, hidden)
        return hidden

    @contextmanager
    def reusing_features(self):
        """Compute the features of the same ``codes`` tensor once while inside.

        For scoring, which evaluates the same sequences once per sample with the parameters fixed:
        q(z | x)'s network is deterministic, and it was a fifth of the work.
        """
        self._reused = (None, None)
        try:
            yield
        finally:
            self._reused = None

    def gaussian(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loc, scale) of q(z | x) from the last hidden layer."""
        return self.loc(hidden), self.log_scale(hidden).exp()

    def forward(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.gaussian(self.features(codes))


#: The dtype the decoders' output layer multiplies in; None: its inputs' (float32).
_OUTPUT_DTYPE: ContextVar[torch.dtype | None] = ContextVar("output_dtype", default=None)


@contextmanager
def output_precision(dtype: torch.dtype | None):
    """Inside, the decoders' output layer multiplies in ``dtype`` (e.g. ``torch.bfloat16``).

    For scoring. That product is most of a scoring pass (2,000 hidden units × L·K logits for every
    sequence and sample in the paper's model); CPUs with AMX multiply bfloat16 about 3 times
    faster than float32, recent GPUs faster still. Everything else, the logits' log-softmax
    included, stays in float32.
    """
    token = _OUTPUT_DTYPE.set(dtype)
    try:
        yield
    finally:
        _OUTPUT_DTYPE.reset(token)


def output_layer(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``bias + hidden @ weight``: (..., H) @ (H, M) → (..., M), the decoders' last and largest
    product, multiplied in the dtype :func:`output_precision` sets and returned in ``hidden``'s."""
    dtype, flat = _OUTPUT_DTYPE.get() or hidden.dtype, hidden.reshape(-1, hidden.shape[-1])
    product = torch.addmm(bias.to(dtype), flat.to(dtype), weight.to(dtype))  # no copy if same
    return product.to(hidden.dtype).reshape(*hidden.shape[:-1], -1)


class Decoder(nn.Module):
    """Dense decoder p(x | z): z → hidden layers (ReLU, the last ``last_activation``) → logits
    (…, L, K). With ``dropout_p`` > 0, EVE's: dropout on z and after every hidden layer, in
    training mode only."""

    def __init__(
        self,
        length: int,
        letters: int,
        hidden: Sequence[int],
        latent_dim: int,
        dropout_p: float = 0.0,
        last_activation: str = "sigmoid",
    ):
        super().__init__()
        self.shape = (length, letters)
        self.dropout = dropout(dropout_p)
        last = ACTIVATIONS[last_activation]()
        self.hidden = mlp([latent_dim, *hidden], last, dropout_p) if hidden else nn.Identity()
        self.out = glorot_(nn.Linear(hidden[-1] if hidden else latent_dim, length * letters))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        hidden = self.hidden(self.dropout(z))
        logits = output_layer(hidden, self.out.weight.t(), self.out.bias)
        return logits.reshape(*z.shape[:-1], *self.shape)


def local_params():
    """Pyro settings under which PyroModules keep their parameters to themselves.

    Models are built and run inside it, so nothing lands in Pyro's global parameter store and two
    models in one session (a notebook, a test run) cannot share parameters by name.
    """
    return pyro.settings.context(module_local_params=True)
