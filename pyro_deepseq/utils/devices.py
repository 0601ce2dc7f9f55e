"""Choosing the torch device once, outside model and data code."""

from __future__ import annotations

import ctypes
import sys
from functools import cache

import torch

from ..errors import DataError

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc mallopt parameters


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


@cache
def keep_freed_memory() -> bool:
    """Ask glibc to reuse freed memory instead of returning it to the system (Linux CPU runs).

    Each training step of a Bayesian decoder allocates and frees tensors of ~80 MB. glibc serves
    those with fresh ``mmap`` pages that the kernel zero-fills on first touch, which tripled the
    cost of every elementwise pass; kept on the heap, the same memory is reused each step (about
    half a step's time saved). Returns whether the setting took.
    """
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
    except (OSError, AttributeError):  # not glibc
        return False
