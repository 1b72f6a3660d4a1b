"""test_privileges.py - the `user` directive drops root once capture is open; an empty requirepass is none."""
import os

import pytest

from conftest import DEMO_PCAP, Flowcached


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_user_directive_drops_root_after_opening_capture():
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep", "--user", "nobody")
    try:
        fc.wait_pcap_done()
        status = open("/proc/%d/status" % fc.proc.pid).read()
        uids = [line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")][0]
        assert uids == ["65534"] * 4, uids            # real, effective, saved, filesystem
        assert int(fc.info("capture")["capture_packets"]) > 0
        assert fc.client().dbsize() > 0
    finally:
        fc.stop()
        fc.check_clean()


def test_unknown_user_is_a_clear_start_up_error(tmp_path):
    import subprocess
    from conftest import flowcached_binary, free_port
    r = subprocess.run([str(flowcached_binary()), "--port", str(free_port()), "--user", "no-such-user-fc"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "no-such-user-fc" in r.stderr


def test_empty_requirepass_means_no_password():
    fc = Flowcached("--requirepass", "")
    try:
        assert fc.client().ping() is True
        assert fc.raw(b"AUTH x\r\n").startswith(b"-ERR AUTH <password> called without any password configured")
    finally:
        fc.stop()
        fc.check_clean()
