"""Connecting the sweep to Ray: a local instance, or a cluster checked before any job starts.

Given ``--address``, Ray's own failures are slow and noisy: no cluster at the address retries for
about a minute, a missing or wrong token (Ray ≥ 2.52 can require one; 2.59 turns it on for new
local clusters) repeats a warning every second without end, and a node without this package or
without the data fails every job sent to it. :func:`connect` checks each in turn, each within
seconds, and turns it into a :class:`~pyro_deepseq.errors.ClusterError`: one line with the cause
and the fix.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

from ..errors import ClusterError, DataError

#: Seconds each check waits: the port, the cluster's answer, the nodes' answers.
PORT_SECONDS = 5
ANSWER_SECONDS = 20
NODES_SECONDS = 30
TOKEN_HELP = (
    "start every node and the sweep with RAY_AUTH_MODE=token and the head node's token "
    "(its ~/.ray/auth_token, on each machine at that path or named by RAY_AUTH_TOKEN_PATH); "
    "see the guide's 'On a cluster'"
)
#: Run in a child process: Ray's client logs from C++, and aborts on some token mistakes.
_ASK = """
import sys
from ray._raylet import GcsClient
try:
    GcsClient(address=sys.argv[1])
except Exception as error:
    print(type(error).__name__, str(error).splitlines()[0] if str(error) else "")
    sys.exit(1)
"""


def connect(address: str | None, out: str, paths: list[str]):
    """Ray, started here (``address`` None) or connected to the cluster at ``address``.

    A cluster is checked first (its port answers, it accepts this machine's token) and its nodes
    after (each can import this package, sees ``paths`` and the output folder ``out``).
    """
    try:
        import ray
    except ImportError:
        raise DataError(
            "the sweep runs on Ray, which is not installed: pip install -e '.[cluster]' "
            "(or pass --sequential to run the jobs one after another without it)"
        ) from None
    os.environ.setdefault("RAY_COLOR_PREFIX", "0")  # no colour codes in what Ray prints
    if not address:
        ray.init(include_dashboard=False, log_to_driver=False)
        return ray
    if address != "auto":
        _check_answers(address)
    try:
        ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError) as error:
        raise ClusterError(f"cannot join the Ray cluster at {address}: {_first(error)}") from None
    try:
        check_nodes(ray, out, paths)
    except ClusterError:
        ray.shutdown()
        raise
    return ray


def _check_answers(address: str) -> None:
    """A Ray cluster answers at ``HOST:PORT`` and takes this machine's token, or a ClusterError."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--address {address}: give HOST:PORT, as `ray start --head` printed")
    try:
        socket.create_connection((host, int(port)), timeout=PORT_SECONDS).close()
    except OSError as error:
        raise ClusterError(
            f"no Ray cluster answers at {address} ({error.strerror or error}): start one with "
            f"`ray start --head --port {port}` on {host}, or give the address it printed"
        ) from None
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token" and not _has_token():
        raise ClusterError(f"RAY_AUTH_MODE is token but this machine has no token: {TOKEN_HELP}")
    try:
        answer = subprocess.run(
            [sys.executable, "-c", _ASK, address],
            capture_output=True,
            text=True,
            timeout=ANSWER_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise ClusterError(
            f"something listens at {address} but no Ray cluster answered within "
            f"{ANSWER_SECONDS} s: give the port `ray start --head` printed (6379 by default)"
        ) from None
    said = answer.stdout.strip() + answer.stderr
    if answer.returncode == 0 or "ModuleNotFoundError" in said or "ImportError" in said:
        return  # Ray answered (or this Ray has no such client: ray.init will tell)
    if "AuthenticationError" in said or "InvalidAuthToken" in said:
        mode = os.environ.get("RAY_AUTH_MODE", "disabled")
        given = (
            "this machine's token is not the cluster's"
            if mode == "token"
            else ("it asks for a token and this machine sends none (RAY_AUTH_MODE is not token)")
        )
        raise ClusterError(f"the Ray cluster at {address} refused the sweep: {given}: {TOKEN_HELP}")
    raise ClusterError(f"the Ray cluster at {address} did not answer: {_first(said)}")


def _has_token() -> bool:
    """Whether Ray will find a token here (its order: variable, file named, default file)."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token"
    try:
        return bool(Path(path).read_text().strip())
    except OSError:
        return False


def check_nodes(ray, out: str, paths: list[str]) -> None:
    """Every alive node can import this package and sees ``paths`` and the output folder.

    The folder is checked by a file this machine writes into it and every node reads back: a
    fit tried again on another node must find the checkpoint the first try left there.
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    paths = [path for path in paths if Path(path).exists()]  # else the job's own error says so
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    marker, mark = folder / ".sweep-nodes-check", uuid.uuid4().hex
    marker.write_text(mark)

    def look(marker: str, paths: list[str]) -> dict:
        """What a node sees (defined here so that Ray sends it whole: it needs no package)."""
        import importlib.util
        from pathlib import Path

        try:
            seen = Path(marker).read_text()
        except OSError:
            seen = None
        return {
            "package": importlib.util.find_spec("pyro_deepseq") is not None,
            "marker": seen,
            "missing": [path for path in paths if not Path(path).exists()],
        }

    look = ray.remote(num_cpus=0, max_retries=0)(look)
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    asked = {
        look.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
        ).remote(str(marker), paths): node["NodeManagerAddress"]
        for node in nodes
    }
    try:
        ready, late = ray.wait(list(asked), num_returns=len(asked), timeout=NODES_SECONDS)
        if late:
            names = ", ".join(sorted({asked[reference] for reference in late}))
            raise ClusterError(
                f"node {names} did not answer within {NODES_SECONDS} s: is it busy, or "
                "short of memory? (`ray status` on the head node shows its state)"
            )
        problems = [problem(asked[reference], ray.get(reference), mark, out) for reference in ready]
    finally:
        marker.unlink(missing_ok=True)
    problems = [p for p in problems if p]
    if problems:
        more = f" (and {len(problems) - 1} more nodes)" if len(problems) > 1 else ""
        raise ClusterError(problems[0] + more)


def problem(node: str, seen: dict, mark: str, out: str) -> str | None:
    """The first thing ``node`` lacks (what :func:`check_nodes` saw there), or None."""
    if not seen["package"]:
        return (
            f"node {node} cannot import pyro_deepseq: install it on every node, in the Python "
            "environment `ray start` ran from (pip install 'pyro-deepseq[cluster]')"
        )
    if seen["missing"]:
        return (
            f"node {node} does not see {seen['missing'][0]}: every node needs the sweep's files "
            "at the same paths (a shared file system)"
        )
    if seen["marker"] != mark:
        return (
            f"node {node} does not see the output folder {out} as this machine does: a fit "
            "tried again on another node would not find its checkpoint; give --out on a file "
            "system every node shares"
        )
    return None


def _first(error) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
