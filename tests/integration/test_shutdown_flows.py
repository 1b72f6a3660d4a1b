"""test_shutdown_flows.py - at SIGTERM every flow still in the cache ends (reason shutdown), and none
is lost to the capture threads' event queue (65 536 events) however many the cache holds.

A generated file of 70 000 one-packet UDP flows is read with pcap-end keep and no expiry, so all of
them are still active when the test sends SIGTERM; a subscriber of flow.end must then receive one
message per flow, each with reason shutdown, before flowcached exits 0. Loopback only, free ports,
flowcached stopped by its pid.
"""
import os
import signal
import socket
import time

from conftest import NO_EXPIRY
from test_reliability_util import eth_ipv4, resp_command, udp_datagram, write_pcap

FLOWS = 70000                     # more than one worker's event queue holds


def one_packet_flows(n):
    for i in range(n):
        src = bytes([10, 1, i // 30000, 1])    # source ports 30000-59999: none a tunnel's (VXLAN, GTP-U)
        frame = eth_ipv4(src, bytes([10, 2, 0, 1]), 17, udp_datagram(30000 + i % 30000, 9999, b"x" * 8), i)
        yield 1700000000.0 + i * 1e-5, frame


def read_until_closed(s, deadline):
    chunks = []
    while time.monotonic() < deadline:
        try:
            b = s.recv(1 << 20)
        except socket.timeout:
            continue
        if not b:
            return b"".join(chunks)
        chunks.append(b)
    raise AssertionError("flowcached did not close the subscriber within the time bound")


def test_sigterm_ends_every_flow(flowcached, tmp_path):
    pcap = write_pcap(str(tmp_path / "flows.pcap"), one_packet_flows(FLOWS))
    fc = flowcached("--pcap", pcap, "--pcap-end", "keep", *NO_EXPIRY)
    info = fc.wait_pcap_done(120)
    assert int(info["flows_active"]) == FLOWS
    s = socket.create_connection(("127.0.0.1", fc.port), timeout=2)
    try:
        s.sendall(resp_command("SUBSCRIBE", "flow.end"))
        first = s.recv(4096)
        assert b"subscribe" in first
        os.kill(fc.proc.pid, signal.SIGTERM)
        data = first + read_until_closed(s, time.monotonic() + 120)
    finally:
        s.close()
    assert fc.proc.wait(timeout=60) == 0
    ends = data.count(b"$7\r\nmessage\r\n$8\r\nflow.end\r\n")
    shutdown = data.count(b'"reason":"shutdown"')
    assert (ends, shutdown) == (FLOWS, FLOWS), "%d flow.end messages, %d with reason shutdown, %d bytes" % (
        ends, shutdown, len(data))
