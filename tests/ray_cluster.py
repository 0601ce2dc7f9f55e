"""A Ray cluster of several nodes on this machine, for the tests: Ray's own harness.

``ray.cluster_utils.Cluster`` (how Ray tests node failures) runs here, in a child process of the
test, so that its Ray state and token stay out of pytest's process. It prints the head's address,
then reads commands on stdin and answers ``ok`` to each: ``add CPUS`` starts a worker node,
``remove I`` kills the I-th one started (with its running tasks), ``quit`` stops the cluster.
The head has no CPUs: every job runs on a worker node.
"""

import sys

from ray.cluster_utils import Cluster


def main() -> None:
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False}
    )
    workers = []
    print(cluster.address, flush=True)
    for line in sys.stdin:
        command, *arguments = line.split()
        if command == "add":
            workers.append(cluster.add_node(num_cpus=int(arguments[0])))
            cluster.wait_for_nodes()
        elif command == "remove":
            cluster.remove_node(workers[int(arguments[0])], allow_graceful=False)
        elif command == "quit":
            break
        print("ok", flush=True)
    cluster.shutdown()


if __name__ == "__main__":
    main()
