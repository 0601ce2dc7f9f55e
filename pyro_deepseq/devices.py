"""Choosing the torch device once, outside model and data code."""

from __future__ import annotations

import torch

from .errors import DataError


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:K"`` into a usable :class:`torch.device`.

    ``"auto"`` picks CUDA when present. Asking for CUDA on a machine without it is an error rather
    than a silent fall-back, so that a run never takes ten times longer than its user planned.
    """
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DataError(f"unknown device {name!r}: use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DataError(f"device {name!r} was asked for, but this machine has no CUDA device")
    if device.type not in ("cpu", "cuda"):
        raise DataError(f"unsupported device {name!r}: use auto, cpu or cuda")
    return device
