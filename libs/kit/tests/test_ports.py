"""Ports for servers the tests and `make up` start: free, outside the range the kernel hands
to outgoing connections, never the same twice."""

import socket

from pyk8s_kit import embedded
from pyk8s_kit.embedded import free_port


def test_free_ports_are_distinct_bindable_and_below_the_ephemeral_range():
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(embedded.LOWEST_SERVER_PORT <= p < embedded._ephemeral_start() for p in ports)
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[-1]))


def test_ports_in_use_or_handed_out_are_passed_over(monkeypatch):
    given = free_port()
    with socket.socket() as taken, socket.socket() as spare_socket:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        spare_socket.bind(("127.0.0.1", 0))
        spare = spare_socket.getsockname()[1]
        spare_socket.close()
        tried = [given, taken.getsockname()[1], spare]
        monkeypatch.setattr(embedded.random, "sample", lambda candidates, k: tried)
        assert free_port() == spare
