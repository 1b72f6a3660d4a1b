"""test_compat_dashboards.py - dashboards pointed at flowcached: Prometheus redis_exporter (Debian package) must report
redis_up 1 and db0's key count; Redis Commander (npm) opened in headless Chromium must show the ip / flow / proto
key groups (DOM dump) and leave a screenshot in tests/artifacts/ to look at.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import free_port
from test_compat_util import ARTIFACTS, kill_tree
from test_compat_clients import CLIENTS, node_modules  # noqa: F401  (session fixture: npm install)


def http_get(url, timeout=30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read().decode()
        except OSError as e:
            last = e
            time.sleep(0.2)
    raise AssertionError("%s did not answer: %s" % (url, last))


def start(cmd, **kw):
    log = tempfile.TemporaryFile()
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kw), log


def output(log):
    log.seek(0)
    return log.read().decode(errors="replace")[-4000:]


def test_redis_exporter(demo_fc):
    exe = shutil.which("prometheus-redis-exporter") or shutil.which("redis_exporter")
    if not exe:
        pytest.skip("prometheus-redis-exporter not installed")
    port = free_port()
    p, log = start([exe, "-redis.addr", "redis://127.0.0.1:%d" % demo_fc.port,
                    "-web.listen-address", "127.0.0.1:%d" % port])
    try:
        text = http_get("http://127.0.0.1:%d/metrics" % port)
    finally:
        kill_tree(p)
    keys = demo_fc.client().dbsize()
    assert re.search(r"^redis_up 1$", text, re.M), output(log) + text[-2000:]
    m = re.search(r'^redis_db_keys\{db="db0"\} (\S+)$', text, re.M)
    assert m and int(float(m.group(1))) == keys, (m and m.group(0), keys)
    assert re.search(r"^redis_connected_clients \d", text, re.M)
    assert re.search(r'^redis_instance_info\{.*redis_version="7.0.15"', text, re.M)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("chromium not installed")


def chromium_run(url, profile, *extra):
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--no-first-run", "--user-data-dir=%s" % profile,
                           "--virtual-time-budget=15000", "--window-size=1400,900"] + list(extra) + [url],
                          capture_output=True, text=True, timeout=120)


def test_redis_commander(demo_fc, node_modules):  # noqa: F811
    rc_bin = node_modules / ".bin" / "redis-commander"
    if not rc_bin.exists():
        pytest.skip("redis-commander not installed")
    port = free_port()
    home = tempfile.mkdtemp(prefix="rcmd-")
    env = dict(os.environ, HOME=home)
    p, log = start([shutil.which("node"), str(rc_bin), "--redis-host", "127.0.0.1", "--redis-port", str(demo_fc.port),
                    "--address", "127.0.0.1", "--port", str(port), "--nosave", "--folding-char", "."],
                   env=env, cwd=str(CLIENTS))
    try:
        url = "http://127.0.0.1:%d/" % port
        http_get(url, 60)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "redis-commander.png"
        if shot.exists():
            shot.unlink()
        profile = tempfile.mkdtemp(prefix="chromium-")
        dom = chromium_run(url, profile, "--dump-dom")
        chromium_run(url, profile, "--screenshot=%s" % shot)
        assert p.poll() is None, "redis-commander exited:\n" + output(log)
    finally:
        kill_tree(p)
        shutil.rmtree(home, ignore_errors=True)
    html = dom.stdout
    assert shot.exists() and shot.stat().st_size > 10000, dom.stderr[-2000:]
    c = demo_fc.client()
    for group in ("ip", "flow", "proto"):        # the key tree folded at ".": "ip.* (113)"
        m = re.search(r"%s\.\*\s*\((\d+)\)" % group, html)
        assert m, "group %r not in the page:\n%s" % (group, html[:3000])
        assert int(m.group(1)) == len(c.keys(group + ".*"))
