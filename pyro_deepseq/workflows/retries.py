"""Which failures of a sweep's job are tried again, and how: Ray's system failures only.

A job that runs to its end reports its own outcome (``done``, or ``failed`` with its message): a
:class:`~pyro_deepseq.errors.DataError` (a bad file or option), a fit that diverged or a bug is
final, because running it again would fail the same way. What a job cannot report is its worker
dying under it: a process killed (``kill -9``, the kernel's out-of-memory killer), a node lost or
pre-empted, Ray's memory monitor killing the worker. Those are tried again, up to ``--retries``
more times; a fit tried again resumes from its last checkpoint. A job killed by Ray's memory
monitor is tried again with the memory it had reserved from Ray's scheduler, so that no more such
jobs share a node than fit; when no node has that much, it fails with advice instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
GB = 1e9
#: Headroom over the memory a killed job had: it was still growing when it was killed.
MEMORY_MARGIN = 1.25
ADVICE = (
    "give each job more memory: fewer jobs per node (a larger --cpus-per-job), a smaller "
    "--batch-size, or nodes with more memory"
)


def plain(text: str) -> str:
    """``text`` without terminal escape codes (colours, cursor moves)."""
    return ANSI.sub("", text)


@dataclass(frozen=True)
class Failure:
    """Why Ray returned no result for a job.

    Attributes
    ----------
    message : str
        One line, without escape codes.
    retriable : bool
        A system failure (worker, process or node lost): trying again can succeed.
    memory_used : float, optional
        Bytes the job's worker had when Ray's memory monitor killed it; ``nan`` when the monitor
        killed it without saying. ``None``: not killed for memory.
    """

    message: str
    retriable: bool
    memory_used: float | None = None

    @property
    def out_of_memory(self) -> bool:
        return self.memory_used is not None


def diagnose(error: BaseException) -> Failure:
    """The :class:`Failure` a Ray exception stands for (``ray.get`` of a job's result raised it)."""
    from ray import exceptions

    if isinstance(error, exceptions.OutOfMemoryError):
        return _out_of_memory(plain(str(error)))
    if isinstance(error, exceptions.WorkerCrashedError | exceptions.LocalRayletDiedError):
        return Failure("its worker process died (killed, or crashed)", retriable=True)
    if isinstance(error, exceptions.NodeDiedError | exceptions.ObjectLostError):
        node = re.search(r"Node IP: ([^\s,]+)", plain(str(error)))
        where = f" ({node.group(1)})" if node else ""
        return Failure(f"its node{where} was lost: pre-empted, stopped or crashed", retriable=True)
    if isinstance(error, exceptions.TaskCancelledError):
        return Failure("cancelled", retriable=False)
    cause = getattr(error, "cause", None)  # a RayTaskError wraps what the job raised
    if isinstance(error, exceptions.RayTaskError) and cause is not None:
        return Failure(f"{type(cause).__name__}: {_first_line(cause)}", retriable=False)
    return Failure(f"{type(error).__name__}: {_first_line(error)}", retriable=False)


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in plain(str(error)).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _out_of_memory(text: str) -> Failure:
    """Ray's memory monitor's message: what the worker had, and the node's use of its memory."""
    worker = re.search(r"memory used[=:]\s*([\d.]+)\s*Gi?B", text, re.I)
    node = re.search(r"was\s+([\d.]+)\s*GB(?: used)?\s*/\s*([\d.]+)\s*GB", text)
    used = float(worker.group(1)) * GB if worker else math.nan
    had = f"it had {used / GB:.2f} GB" if worker else "it did not say how much it had"
    where = f" of a node using {node.group(1)} of {node.group(2)} GB" if node else ""
    return Failure(f"killed for lack of memory ({had}{where})", True, used)


def memory_request(failure: Failure, largest_node: float) -> float | None:
    """Bytes a job killed for memory asks of Ray when tried again; None when no node has them.

    The job asks for what it had plus a margin (at most a whole node); when Ray did not say what
    it had, for a whole node: then it runs with nothing beside it.
    """
    used = failure.memory_used
    if used is None:
        raise ValueError("the job was not killed for memory")
    if math.isnan(used):
        return largest_node if largest_node > 0 else None
    if used >= largest_node:
        return None
    return min(math.ceil(used * MEMORY_MARGIN), largest_node)


def given_up(failure: Failure, tries: int, no_node_fits: bool = False) -> str:
    """The error of a job that is not tried again."""
    if not failure.retriable:
        return failure.message
    if no_node_fits:
        return f"{failure.message}; no node has more memory to give it: {ADVICE}"
    advice = f": {ADVICE}" if failure.out_of_memory else "; see Ray's logs"
    return f"{failure.message}, {tries} tries{advice}"
