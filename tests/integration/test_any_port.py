"""test_any_port.py - the DNS and RADIUS parsers run on flows nDPI names DNS or RADIUS, whatever the port: dnsmasq
answering dnsperf on a random high port and radclient's accounting to another, captured live on loopback, count as
they do on 53 and 1813 (README: what is recognised how)."""
import os
import struct
import shutil
import subprocess
import time

import pytest

from conftest import Flowcached, free_port, stop_pid
from liveutil import Collector

NEEDED = ("dnsmasq", "dnsperf", "radclient")


@pytest.mark.skipif(os.geteuid() != 0 or not all(shutil.which(t) for t in NEEDED),
                    reason="needs root (capture on lo) and dnsmasq, dnsperf, radclient")
def test_dns_and_radius_on_high_ports(tmp_path):
    dns_port, radius_port = free_port(), free_port()
    fc = Flowcached("--interface", "lo", "--bpf", "udp and host 127.0.0.1 and (port %d or port %d)" % (
        dns_port, radius_port), "--flow-idle-timeout", "600", "--host-idle-timeout", "600")
    col = Collector(fc.client(), channels=("dns", "user.login"))
    dnsmasq = subprocess.Popen(["dnsmasq", "--port", str(dns_port), "--no-daemon", "--no-resolv", "--no-hosts",
                                "--address=/example.test/127.0.0.5", "--listen-address=127.0.0.1",
                                "--bind-interfaces", "--pid-file=" + str(tmp_path / "dnsmasq.pid"), "--user=root",
                                "--cache-size=0", "--log-facility=" + str(tmp_path / "dnsmasq.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        time.sleep(1.0)
        qf = tmp_path / "q.txt"
        qf.write_text("www.example.test A\n")
        out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(dns_port), "-d", str(qf), "-n", "300", "-l",
                              "30", "-Q", "500", "-t", "2"], capture_output=True, text=True, timeout=60).stdout
        sent = int([ln for ln in out.splitlines() if "Queries sent:" in ln][0].split()[2])
        # nobody answers: the Accounting-Request alone maps the user, as on 1813
        subprocess.run(["radclient", "-r", "1", "-t", "1", "127.0.0.1:%d" % radius_port, "acct", "testing123"],
                       input="User-Name = bob\nAcct-Status-Type = Start\nFramed-IP-Address = 10.99.0.9\n"
                             "Acct-Session-Id = S9\nNAS-IP-Address = 127.0.0.1\n",
                       capture_output=True, text=True, timeout=20)
        c = fc.client()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and int(c.hget("dns.www.example.test", "queries") or 0) < sent:
            time.sleep(0.2)
        col.wait_quiet(1.0, 10)
        h = c.hgetall("dns.www.example.test")
        assert int(h["queries"]) == sent and int(h["responses"]) == sent, (h, sent)
        assert len(col.of("dns")) == sent
        assert c.get("ipuser.10.99.0.9") == "bob"
        assert [e["user"] for e in col.json_of("user.login")] == ["bob"]
    finally:
        col.close()
        stop_pid(dnsmasq)
        fc.stop()
    fc.check_clean()


def dns_msg(txid, name, response=False):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\x00\x00\x01\x00\x01"
    flags = 0x8180 if response else 0x0100
    an = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x05" if response else b""
    return struct.pack(">HHHHHH", txid, flags, 1, 1 if response else 0, 0, 0) + q + an


def test_dns_by_content_in_a_capture(tmp_path, flowcached):
    """Queries on a high port whatever their ID (one whose first bits are 10 looks like RTP too), answered.
    (DNS-shaped NetBIOS and LLMNR names staying out: test_dissectors.py's 1kxun.pcap.)"""
    from test_voip import udp_frame, write_pcap
    frames, t = [], 1700000000.0
    for i, txid in enumerate((0x0102, 0x9abc, 0xbeef)):
        sport = 40000 + i
        frames.append((t + i, udp_frame("10.0.0.1", sport, "10.0.0.53", 15353, dns_msg(txid, "a.example.test"))))
        frames.append((t + i + 0.01, udp_frame("10.0.0.53", 15353, "10.0.0.1", sport,
                                               dns_msg(txid, "a.example.test", True))))
    pcap = write_pcap(tmp_path / "dns.pcap", frames)
    fc = flowcached("--pcap", pcap)
    fc.wait_pcap_done()
    h = fc.client().hgetall("dns.a.example.test")
    assert (h.get("queries"), h.get("responses"), h.get("rtt.count")) == ("3", "3", "3"), h
