"""test_user_threads.py - the user on a flow's end record does not depend on capture-threads or on the run.

A flow's user (flow.end `user`, the IPFIX userName) is the one whose RADIUS login came before the packet time the
flow ended at (when it fell due, or the end of the file) and who had not logged out before the flow began: what one
thread reading the file in order sees. With several threads each handles its own lane (address pair) at its own pace,
so the worker of the RADIUS lane may apply a login before, in wall time, another worker ends a flow that was due
before that login; the record must not show it (names_user_of_memo answers as of the flow's end, keeping the mapping
a login replaced).
"""
import socket

import pytest

from test_export import collect_flowcached
from userpcap import T0, radius_packet, tcp, udp, write_pcap

CLIENTS = 240
GRACE = 0.2                  # --tcp-close-grace-ms 200
IDLE = 1.0                   # --flow-idle-timeout 1
DELTAS = [0.001, 0.004, 0.02, 0.06, 0.15, 0.35, 0.7]    # how far before / after a login a flow falls due


def client(i):
    return "10.1.%d.%d" % (i // 200, i % 200 + 1)


def tcp_flow(cli, srv, cport, start):
    """A closed TCP connection: handshake, one request, FIN both ways, all within 10 ms of start; returns
    (packets, the time it falls due)."""
    seq = [("S", 0), ("SA", 1), ("A", 0), ("PA", 0), ("FA", 0), ("FA", 1), ("A", 0)]
    pk = []
    for n, (flags, back) in enumerate(seq):
        t = start + n * 0.0015
        pk.append((t, tcp(srv, cli, 80, cport, flags, seq=n) if back else tcp(cli, srv, cport, 80, flags, seq=n)))
    return pk, pk[-2][0] + GRACE          # closed at the second FIN


def udp_flow(cli, srv, cport, start):
    pk = [(start, udp(cli, srv, cport, 7000, b"q")), (start + 0.002, udp(srv, cli, 7000, cport, b"r"))]
    return pk, start + 0.002 + IDLE


def build(path):
    """Per client: a login at L (for half of them another user logged in 3 s before), and flows of each kind
    falling due d before and d after L; a client of every 7th logs out at L + 0.5 and has a flow starting after
    it. Busy filler traffic on other addresses keeps the workers apart. Returns {(client, port): expected user}."""
    pk, radius, flows = [], [], []
    for i in range(CLIENTS):
        cli, srv = client(i), "192.0.2.%d" % (10 + i % 5)
        login = T0 + 4.0 + i * 0.03
        d = DELTAS[i % len(DELTAS)]
        if i % 2:
            radius.append((login - 3.0, cli, "old.user%03d" % i, "start"))
        radius.append((login, cli, "new.user%03d" % i, "start"))
        for k, make in enumerate([tcp_flow, udp_flow]):
            lead = make(cli, srv, 1, 0.0)[1]             # from its first packet to its due time
            for j, due_at in enumerate([login - d, login + d]):
                port = 20000 + k * 2 + j
                p, due = make(cli, srv, port, due_at - lead)
                pk += p
                flows.append((cli, port, p[0][0], due))
        if i % 7 == 0:
            radius.append((login + 0.5, cli, "new.user%03d" % i, "stop"))
            p, due = udp_flow(cli, srv, 20009, login + 0.6)
            pk += p
            flows.append((cli, 20009, p[0][0], due))
    for n, (t, cli, user, status) in enumerate(radius):
        pk.append(radius_packet(t, n, user, cli, status))
    end = T0 + 4.0 + CLIENTS * 0.03 + 3.0
    n, t = 0, T0
    while t < end:               # 40 address pairs, 4000 packets a second
        a = n % 40
        pk.append((t, udp("10.9.%d.1" % a, "10.8.%d.1" % a, 30000 + a, 9999, b"x" * 200)))
        n += 1
        t = T0 + n * 0.00025
    write_pcap(path, pk)
    expected = {}
    for cli, port, first, due in flows:
        user = logout = None
        for t, c, u, status in sorted(radius):          # the rule, as one thread applies the logins in order
            if c != cli or t >= due:
                continue
            if status == "start":
                user, logout = u, None
            elif u == user:
                logout = t
        if user and logout is not None and first > logout:
            user = None
        expected[(cli, port)] = user
    return expected


def labels(recs):
    """{(client, client port): userName or None} of the initiators' records (destination port 80 or 7000)."""
    out = {}
    for r in recs:
        if r[(0, 11)] in (80, 7000) and (0, 8) in r:
            cli = socket.inet_ntoa(r[(0, 8)])
            u = r.get((32473, 6))
            out[(cli, r[(0, 7)])] = u.decode() if isinstance(u, bytes) else u
    return out


@pytest.fixture(scope="module")
def login_pcap(tmp_path_factory):
    path = tmp_path_factory.mktemp("user-threads") / "logins.pcap"
    return str(path), build(str(path))


@pytest.mark.parametrize("threads,runs", [(1, 1), (2, 3), (3, 1)])
def test_user_is_the_login_before_the_flow_ended(flowcached, login_pcap, threads, runs):
    """Every flow's user is the rule's (a login after the flow fell due does not count, even when another worker
    applied it first; the user it replaced does), in every run, with 1, 2 and 3 capture threads."""
    pcap, expected = login_pcap
    assert sum(1 for u in expected.values() if u) and sum(1 for u in expected.values() if not u)
    for _ in range(runs):
        recs, _fc = collect_flowcached(flowcached, pcap, "ipfix", "--capture-threads", str(threads),
                                       "--tcp-close-grace-ms", "200", "--flow-idle-timeout", "1",
                                       "--flow-lifetime-timeout", "86400", "--user-grace", "300")
        got = labels(recs)
        assert got.keys() == expected.keys()
        wrong = sorted((k, got[k], expected[k]) for k in expected if got[k] != expected[k])
        assert not wrong, "%d of %d flows: %s" % (len(wrong), len(expected), wrong[:10])
