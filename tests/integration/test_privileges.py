"""test_privileges.py - the `user` directive drops root once capture files and devices, the log file and the watchlist's
directory are open; an empty requirepass is none."""
import os
import re
import shutil
import signal
import time

import pytest
import redis

from conftest import DEMO_PCAP, Flowcached, load_truth


def private_dir(tmp_path):
    """A root-owned mode-700 directory (as a checkout under /root): nobody cannot even look inside."""
    d = tmp_path / "private"
    d.mkdir(mode=0o700)
    os.chmod(d, 0o700)
    return d


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_user_directive_opens_files_before_dropping_root(tmp_path):
    """The capture file, the log file and the watchlist's directory are opened as root, before the switch to
    nobody, as tcpdump -Z does: all three sit under a directory nobody may not enter."""
    d = private_dir(tmp_path)
    pcap, log = d / "demo.pcap", d / "flowcached.log"
    shutil.copy(DEMO_PCAP, pcap)
    os.chmod(pcap, 0o600)
    wdir = d / "state"                  # the watchlist's own directory belongs to nobody
    wdir.mkdir()
    os.chown(wdir, 65534, 65534)
    (wdir / "watchlist.txt").write_text("10.0.2.7\n")
    fc = Flowcached("--pcap", pcap, "--pcap-end", "keep", "--user", "nobody", "--logfile", log,
                    "--watchlist", wdir / "watchlist.txt")
    try:
        fc.wait_pcap_done()
        status = open("/proc/%d/status" % fc.proc.pid).read()
        uids = [line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")][0]
        assert uids == ["65534"] * 4, uids            # real, effective, saved, filesystem
        assert int(fc.info("capture")["capture_packets"]) == load_truth()["packets"]
        assert int(fc.info("capture").get("capture_read_errors", 0)) == 0
        c = fc.client()
        assert c.dbsize() > 0
        assert c.sadd("watchlist", "192.0.2.99") == 1      # rewritten as nobody, through the directory opened
        assert c.srem("watchlist", "10.0.2.7") == 1
        assert (wdir / "watchlist.txt").read_text().splitlines()[1:] == ["192.0.2.99"]
        os.kill(fc.proc.pid, signal.SIGHUP)                  # reloaded as nobody too
        deadline = time.monotonic() + 10
        while "watchlist reloaded" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        fc.stop()
        fc.check_clean()
    text = log.read_text()
    assert "running as user nobody" in text and "ready" in text, text
    assert "watchlist reloaded, 1 entries" in text, text
    assert "received SIGTERM" in text, text             # the log file is still written after the switch
    assert "will fail" not in text, text


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_user_who_cannot_rewrite_the_watchlist_is_told_at_start(tmp_path):
    d = private_dir(tmp_path)
    wl = d / "watchlist.txt"
    wl.write_text("10.0.2.7\n")
    os.chmod(wl, 0o644)
    fc = Flowcached("--user", "nobody", "--watchlist", wl)
    try:
        c = fc.client()
        assert c.sismember("watchlist", "10.0.2.7")        # loaded before the switch
        with pytest.raises(redis.exceptions.ResponseError):
            c.sadd("watchlist", "192.0.2.99")
        assert wl.read_text() == "10.0.2.7\n"
    finally:
        fc.stop()
        text = fc.check_clean()
    line = [x for x in text.splitlines() if "SADD/SREM watchlist will fail" in x]
    assert line and str(wl) in line[0] and "not writable by uid 65534" in line[0], text


def test_unknown_user_is_a_clear_start_up_error(tmp_path):
    import subprocess
    from conftest import flowcached_binary, free_port
    r = subprocess.run([str(flowcached_binary()), "--port", str(free_port()), "--user", "no-such-user-fc"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    # the configuration was read: the error is a warning line of the log (standard output, as redis-server's)
    assert re.search(r"^\d+:M .* # user 'no-such-user-fc' does not exist$", r.stdout, re.M), r.stdout + r.stderr


def test_empty_requirepass_means_no_password():
    fc = Flowcached("--requirepass", "")
    try:
        assert fc.client().ping() is True
        assert fc.raw(b"AUTH x\r\n").startswith(b"-ERR AUTH <password> called without any password configured")
    finally:
        fc.stop()
        fc.check_clean()
