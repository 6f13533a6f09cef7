"""A free TCP port on 127.0.0.1, for servers a test starts as separate processes."""

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
