"""test_install.py - make install (PREFIX, DESTDIR): binary, config, man page flowcached(8), systemd unit; the man page
and conf/flowcached.conf name every directive of `flowcached --help` (the directive table) with its default; the unit
passes `systemd-analyze verify`, the page renders without warnings; `supervised systemd` speaks sd_notify."""
import os
import re
import shutil
import signal
import socket
import subprocess

import pytest

from conftest import ROOT, Flowcached, flowcached_binary

MAN = ROOT / "doc" / "flowcached.8"
CONF = ROOT / "conf" / "flowcached.conf"


def make_install(destdir, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "install", "DESTDIR=%s" % destdir] + list(args),
                       capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def help_defaults():
    """[(directive, default)] from flowcached --help, in table order."""
    exe = flowcached_binary()
    if not exe.exists():
        pytest.skip("flowcached binary not built: %s" % exe)
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=30).stdout
    rows = re.findall(r"^  --(\S+) \S+\s+(\S+)\s+\S", out, re.M)
    assert len(rows) > 30, out
    return rows


def man_entries():
    """{directive: its text} from the man page's .TP entries whose tag is .BI/.B <name>."""
    text = MAN.read_text().replace("\\-", "-")
    entries = {}
    for block in re.split(r"^\.(?:TP|SH|SS)\b.*$", text, flags=re.M):
        m = re.match(r"\s*\.BI? \"?([a-z][a-z-]*)", block)
        if m:
            entries[m.group(1)] = " ".join(x for x in block.splitlines()[1:] if not x.startswith(".\\\""))
    return entries


def test_man_page_has_every_directive_with_its_default():
    entries = man_entries()
    missing, wrong = [], []
    for name, default in help_defaults():
        if name not in entries:
            missing.append(name)
            continue
        want = "the host name" if name == "probe-id" else "none" if default == '""' else default
        if "Default: %s." % want not in entries[name]:
            wrong.append((name, want, entries[name][-80:]))
    assert not missing and not wrong, "not in doc/flowcached.8: %s; other default: %s" % (missing, wrong)


def test_man_page_version_is_the_binary_s():
    version = subprocess.run([str(flowcached_binary()), "--version"], capture_output=True, text=True).stdout.split()[1]
    th = [x for x in MAN.read_text().splitlines() if x.startswith(".TH ")][0]
    assert '"flowcached %s"' % version in th, th


def test_config_file_names_every_directive():
    text = CONF.read_text()
    missing = [n for n, _ in help_defaults() if not re.search(r"^# %s( |$)" % re.escape(n), text, re.M)]
    assert not missing, "conf/flowcached.conf does not show: %s" % missing


def test_man_page_renders_without_warnings():
    groff = shutil.which("groff")
    if not groff:
        pytest.skip("groff not installed (groff-base)")
    r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", str(MAN)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    d = tmp_path_factory.mktemp("destdir")
    out = make_install(d, "PREFIX=/usr")
    return d, out


def test_install_prefix_usr_lays_out_everything(installed):
    d, out = installed
    exe = d / "usr/bin/flowcached"
    assert os.access(exe, os.X_OK)
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("flowcached "), r
    assert (d / "etc/flowcached/flowcached.conf").read_text() == CONF.read_text()
    assert (d / "usr/share/man/man8/flowcached.8").read_text() == MAN.read_text()
    unit = (d / "usr/lib/systemd/system/flowcached.service").read_text()
    assert "ExecStart=/usr/bin/flowcached /etc/flowcached/flowcached.conf --supervised systemd\n" in unit
    for line in ("Type=notify", "DynamicUser=yes", "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN",
                 "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN", "NoNewPrivileges=yes", "ProtectSystem=strict"):
        assert line + "\n" in unit, line
    assert "@" not in "".join(x for x in unit.splitlines() if not x.startswith("#"))
    assert "systemctl daemon-reload" in out


def test_installed_unit_passes_systemd_analyze_verify(installed, tmp_path):
    """The unit as installed, its ExecStart pointed at the DESTDIR binary (verify checks it is executable) and man
    looking in DESTDIR's man pages (verify runs man for Documentation=man:flowcached(8)): no word about it."""
    sa = shutil.which("systemd-analyze")
    if not sa:
        pytest.skip("systemd-analyze not installed (systemd)")
    d, _ = installed
    unit = (d / "usr/lib/systemd/system/flowcached.service").read_text()
    (tmp_path / "flowcached.service").write_text(unit.replace("=/usr/bin/flowcached ", "=%s/usr/bin/flowcached " % d))
    env = dict(os.environ, MANPATH=str(d / "usr/share/man"))
    r = subprocess.run([sa, "verify", str(tmp_path / "flowcached.service")], capture_output=True, text=True,
                       timeout=120, env=env)
    problems = [x for x in (r.stdout + r.stderr).splitlines() if "flowcached" in x]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr


def test_install_default_prefix_keeps_an_existing_config(tmp_path):
    make_install(tmp_path)
    conf = tmp_path / "usr/local/etc/flowcached/flowcached.conf"
    assert os.access(tmp_path / "usr/local/bin/flowcached", os.X_OK)
    assert (tmp_path / "usr/local/share/man/man8/flowcached.8").exists()
    unit = (tmp_path / "usr/local/lib/systemd/system/flowcached.service").read_text()
    assert "ExecStart=/usr/local/bin/flowcached /usr/local/etc/flowcached/flowcached.conf " in unit
    conf.write_text("port 7000\n")
    out = make_install(tmp_path)
    assert "keeping" in out and conf.read_text() == "port 7000\n"


def notify_socket(tmp_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(tmp_path / "notify"))
    s.settimeout(15)
    return s


@pytest.mark.parametrize("mode", ["systemd", "auto"])
def test_supervised_systemd_notifies_ready_and_stopping(tmp_path, mode):
    s = notify_socket(tmp_path)
    fc = Flowcached("--supervised", mode, env={"NOTIFY_SOCKET": str(tmp_path / "notify")})
    try:
        ready = s.recv(4096).decode()
        assert ready.split("\n")[0] == "READY=1" and "STATUS=" in ready, ready
        os.kill(fc.proc.pid, signal.SIGTERM)
        assert s.recv(4096) == b"STOPPING=1"
    finally:
        fc.stop()
        fc.check_clean()
        s.close()


def test_supervised_no_tells_nobody(tmp_path):
    s = notify_socket(tmp_path)
    s.settimeout(1)
    fc = Flowcached(env={"NOTIFY_SOCKET": str(tmp_path / "notify")})
    try:
        with pytest.raises(socket.timeout):
            s.recv(4096)
    finally:
        fc.stop()
        fc.check_clean()
        s.close()
