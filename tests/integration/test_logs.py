"""test_logs.py - the log as redis-server writes it: the line format, loglevel (and CONFIG SET loglevel at run time,
as redis-server answers it), logfile (and SIGHUP reopening it), syslog-enabled (to a syslog socket of its own when
the test may make one), CONFIG REWRITE keeping the directives; capture files: progress lines every pcap-progress
seconds, each file's end and a summary that agrees with INFO."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest
import redis

from conftest import DEMO_PCAP, ROOT, Flowcached, flowcached_binary, free_port, stop_pid, wait_ping

# redis-server's line: pid:role dd Mon yyyy hh:mm:ss.mmm mark message (role M, C, S or X; mark . - * #).
LINE = re.compile(r"^(\d+):([CXSM]) (\d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) ([.*#-]) (.*)$")


def wait_for(fn, timeout=10.0):
    """fn() until it is true or timeout seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


def log_lines(text):
    return [x for x in text.splitlines() if x]


def test_every_line_has_redis_server_format(flowcached):
    fc = flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep")
    fc.wait_pcap_done()
    fc.stop()
    lines = log_lines(fc.check_clean())
    bad = [x for x in lines if not LINE.match(x)]
    assert lines and not bad, bad
    ready = [LINE.match(x) for x in lines if " ready: RESP on " in x]
    assert ready and ready[0].group(1) == str(fc.proc.pid) and ready[0].group(2) == "M" and ready[0].group(4) == "*"
    stamp = time.strptime(ready[0].group(3).split(".")[0], "%d %b %Y %H:%M:%S")
    assert abs(time.mktime(stamp) - time.time()) < 600, ready[0].group(3)      # local time, now
    assert any(x.endswith(" # received SIGTERM, shutting down") for x in lines), lines
    assert lines[-1].endswith(" * flowcached is now ready to exit, bye bye..."), lines[-1]


def test_loglevel_hides_lower_lines_and_config_set_changes_it(flowcached):
    """loglevel warning: no notice lines (not even "ready"); CONFIG SET loglevel verbose shows client connections
    (verbose) and a SIGHUP's reload (notice) at once; back to warning hides them again."""
    fc = flowcached("--loglevel", "warning")
    c = fc.client()
    assert c.config_get("loglevel") == {"loglevel": "warning"}
    os.kill(fc.proc.pid, signal.SIGHUP)
    time.sleep(0.5)
    before = fc.output()
    assert " ready: " not in before and "SIGHUP" not in before and "Accepted" not in before, before
    assert c.config_set("loglevel", "verbose")
    other = socket.create_connection(("127.0.0.1", fc.port))
    other.sendall(b"PING\r\n")
    assert other.recv(100) == b"+PONG\r\n"
    os.kill(fc.proc.pid, signal.SIGHUP)
    assert wait_for(lambda: "SIGHUP: watchlist reloaded" in fc.output()), fc.output()
    text = fc.output()
    assert re.search(r"^\d+:M .* - Accepted 127\.0\.0\.1:\d+$", text, re.M), text
    assert re.search(r"^\d+:M .* \* SIGHUP: watchlist reloaded, 0 entries$", text, re.M), text
    other.close()
    assert wait_for(lambda: "Client closed connection" in fc.output()), fc.output()
    assert c.config_set("loglevel", "warning")
    mark = len(fc.output())
    os.kill(fc.proc.pid, signal.SIGHUP)
    fc.client().ping()
    time.sleep(0.5)
    assert fc.output()[mark:] == "", fc.output()[mark:]


def test_loglevel_debug_adds_a_line_of_figures_every_5_seconds(flowcached):
    fc = flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep", "--loglevel", "debug")
    fc.wait_pcap_done()
    pat = re.compile(r"^\d+:M .* \. (\d+) clients connected, (\d+) flows and (\d+) hosts in the cache, \d+ events published$",
                     re.M)
    m = wait_for(lambda: pat.search(fc.output()), timeout=15)
    assert m and int(m.group(1)) >= 1 and int(m.group(3)) > 0, fc.output()


def test_config_set_loglevel_answers_as_redis(flowcached, redis_server):
    fc = flowcached()
    got, want = fc.client(), redis_server
    for value in ("debug", "VERBOSE", "notice", "warning"):
        assert got.config_set("loglevel", value) == want.config_set("loglevel", value)
        assert got.config_get("loglevel") == want.config_get("loglevel") == {"loglevel": value.lower()}
    errors = []
    for client in (got, want):
        try:
            client.config_set("loglevel", "loud")
        except redis.ResponseError as e:
            errors.append(str(e))
    assert len(errors) == 2 and errors[0] == errors[1], errors
    for name, value in (("logfile", "/tmp/x.log"), ("syslog-enabled", "yes"), ("syslog-ident", "x"),
                        ("syslog-facility", "local3")):
        with pytest.raises(redis.ResponseError, match="can't set immutable config"):
            got.config_set(name, value)
    names = ("loglevel", "logfile", "syslog-enabled", "syslog-ident", "syslog-facility")
    mine = {k: v for k, v in got.config_get("*log*").items() if k in names}
    theirs = {k: v for k, v in want.config_get("*log*").items() if k in names}
    assert set(mine) == set(theirs) == set(names), (mine, theirs)
    assert mine["syslog-facility"] == theirs["syslog-facility"] == "local0"


def test_logfile_gets_the_lines_and_sighup_reopens_it(flowcached, tmp_path):
    log = tmp_path / "fc.log"
    fc = flowcached("--logfile", log)
    assert fc.output() == ""                      # nothing on standard output
    text = log.read_text()
    assert re.search(r"^\d+:M .* \* flowcached \S+ ready: ", text, re.M) and all(LINE.match(x) for x in log_lines(text))
    os.rename(log, tmp_path / "fc.log.1")         # as logrotate does
    os.kill(fc.proc.pid, signal.SIGHUP)
    assert wait_for(lambda: log.exists() and "SIGHUP: watchlist reloaded" in log.read_text()), \
        (tmp_path / "fc.log.1").read_text()
    assert "SIGHUP" not in (tmp_path / "fc.log.1").read_text()
    fc.stop()
    assert "bye bye" in log.read_text() and fc.check_clean() == ""


def test_logfile_that_cannot_be_opened_is_a_start_up_error(tmp_path):
    r = subprocess.run([str(flowcached_binary()), "--port", "0", "--logfile", str(tmp_path / "no" / "x.log")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stdout == "", r.stdout
    assert r.stderr.startswith("flowcached: config error: can't open the log file '%s'" % (tmp_path / "no" / "x.log"))


def test_config_rewrite_keeps_the_log_directives(flowcached, tmp_path):
    conf = tmp_path / "fc.conf"
    conf.write_text("# mine\nloglevel warning\nsyslog-ident probe-a\n")
    fc = flowcached(config=conf)
    c = fc.client()
    assert c.config_get("syslog-ident") == {"syslog-ident": "probe-a"}
    assert c.config_set("loglevel", "verbose") and c.config_rewrite()
    text = conf.read_text()
    assert "loglevel verbose\n" in text and "syslog-ident \"probe-a\"\n" in text and "# mine\n" in text, text
    assert "logfile" not in text and "syslog-enabled" not in text, text      # defaults stay out


def test_syslog_enabled_without_a_syslog_socket_still_logs(flowcached):
    """No /dev/log (a container): syslog(3) fails quietly, the lines still go to standard output."""
    fc = flowcached("--syslog-enabled", "yes", "--syslog-ident", "fc-test", "--syslog-facility", "local3")
    assert fc.client().ping()
    assert " ready: " in fc.output()


def private_dev_log_prefix(sock_path, tmp):
    """A shell prefix running a command in a private mount namespace whose /dev/log is sock_path (the rest of /dev
    bind-mounted from the real one), or None when this machine does not allow it (not root, no unshare)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None
    old = os.path.join(tmp, "realdev")
    os.mkdir(old)
    script = ("set -e; mount --bind /dev %s; mount -t tmpfs tmpfs /dev; "
              "for n in null zero random urandom; do touch /dev/$n; mount --bind %s/$n /dev/$n; done; "
              "ln -s %s /dev/log; exec \"$@\"") % (old, old, sock_path)
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", "true"],
                           capture_output=True, timeout=30)
    if probe.returncode != 0:
        return None
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]


def test_syslog_enabled_reaches_syslog(tmp_path):
    """With a syslog socket (the test's own, as /dev/log in a private mount namespace), every line goes there too, with
    syslog-ident, the facility and the level's priority (notice 5, warning 4)."""
    sock_path = str(tmp_path / "log.sock")
    prefix = private_dev_log_prefix(sock_path, str(tmp_path))
    if prefix is None:
        pytest.skip("cannot give flowcached a syslog socket of its own here (needs root and unshare --mount)")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(0.2)
    port = free_port()
    out = open(tmp_path / "stdout.log", "wb")
    proc = subprocess.Popen(prefix + [str(flowcached_binary()), "--port", str(port), "--syslog-enabled", "yes",
                                      "--syslog-ident", "fc-syslog-test", "--syslog-facility", "local3"],
                            stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT))
    try:
        wait_ping(port, proc, 15.0, str(tmp_path / "stdout.log"))
    finally:
        stop_pid(proc)
        out.close()
    got = []
    try:
        while True:
            got.append(s.recv(4096).decode(errors="replace"))
    except socket.timeout:
        pass
    s.close()
    local3 = 19 * 8
    ready = [m for m in got if re.match(r"<%d>.*fc-syslog-test\[%d\]: flowcached \S+ ready: " % (local3 + 5, proc.pid), m)]
    bye = [m for m in got if re.match(r"<%d>.*fc-syslog-test\[\d+\]: received SIGTERM" % (local3 + 4), m)]
    assert ready and bye, got
    assert " ready: " in (tmp_path / "stdout.log").read_text()      # standard output still has every line


# ---------------------------------------------------------------- capture files: progress and summary

def repeated_pcap(src, dst, times):
    """dst: the records of the classic pcap src, times over, each pass one minute later than the last (a file long
    enough to read for a while). Returns the number of records written."""
    data = src.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "little-endian microsecond pcap expected"
    records, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        records.append((sec, usec, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    span = records[-1][0] - records[0][0] + 60
    with open(dst, "wb") as f:
        f.write(data[:24])
        for k in range(times):
            for sec, usec, orig, body in records:
                f.write(struct.pack("<IIII", sec + k * span, usec, len(body), orig) + body)
    return len(records) * times


PROGRESS = re.compile(r"^\d+:M .* \* pcap (\S+): (\d+) packets, ([\d.]+)% of ([\d.]+) MB, (\d+) packets/s$", re.M)
SUMMARY = re.compile(r"^\d+:M .* \* pcap done: 1 file\(s\), (\d+) packets, (\d+) bytes, (\d+) flows in [\d.]+ s "
                     r"\(\d+ packets/s\); (\d+) read errors, (\d+) events dropped, (\d+) flows dropped, "
                     r"(\d+) decode anomalies$", re.M)


def run_file(*args):
    r = subprocess.run([str(flowcached_binary()), "--port", "0", "--pcap-end", "exit"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert r.returncode == 0 and r.stderr == "", r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def test_a_file_run_logs_progress_and_a_summary(tmp_path):
    big = tmp_path / "big.pcap"
    n = repeated_pcap(DEMO_PCAP, big, 40)
    out = run_file("--pcap", big, "--pcap-progress", "0.01")
    steps = [(int(m.group(2)), float(m.group(3))) for m in PROGRESS.finditer(out) if m.group(1) == str(big)]
    assert steps, out[-3000:]                          # about 120 000 packets: well over 10 ms to read
    assert all(0 < p < n and 0 < pct <= 100 for p, pct in steps), steps
    assert steps == sorted(steps) and len({p for p, _ in steps}) == len(steps), steps
    size_mb = float(PROGRESS.search(out).group(4))
    assert abs(size_mb - big.stat().st_size / 1e6) < 0.1, size_mb
    assert re.search(r"^\d+:M .* \* pcap %s: read, %d packets in [\d.]+ s \(\d+ packets/s\)$" % (re.escape(str(big)), n),
                     out, re.M), out[-3000:]
    m = SUMMARY.search(out)
    assert m and int(m.group(1)) == n and int(m.group(3)) > 0, out[-3000:]
    assert m.group(4) == m.group(5) == m.group(6) == "0", m.group(0)
    # the summary comes before the goodbye, and every line is a log line
    assert out.index("pcap done:") < out.index("bye bye") and all(LINE.match(x) for x in log_lines(out))


def test_the_summary_agrees_with_info(flowcached):
    fc = flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep")
    info = fc.wait_pcap_done()
    m = wait_for(lambda: SUMMARY.search(fc.output()))
    assert m, fc.output()
    assert (int(m.group(1)), int(m.group(2)), int(m.group(3))) == \
        (info["capture_packets"], info["capture_bytes"], info["flows_created"]), (m.group(0), info)


def test_progress_lines_can_be_turned_off_and_are_verbose_when_paced(tmp_path):
    big = tmp_path / "big.pcap"
    repeated_pcap(DEMO_PCAP, big, 40)
    out = run_file("--pcap", big, "--pcap-progress", "0")
    assert not PROGRESS.search(out) and SUMMARY.search(out), out[-3000:]
    # paced (the demo, 60 s of packets, at 200 times its speed): progress and the file's end are verbose lines
    paced = ["--pcap", DEMO_PCAP, "--pcap-speed", "200", "--pcap-progress", "0.05"]
    out = run_file(*paced)
    assert " pcap %s: " % DEMO_PCAP not in out and SUMMARY.search(out), out[-3000:]
    out = run_file(*paced, "--loglevel", "verbose")
    assert re.search(r"^\d+:M .* - pcap %s: \d+ packets, [\d.]+%% of " % re.escape(str(DEMO_PCAP)), out, re.M), out
    assert re.search(r"^\d+:M .* - pcap %s: read, \d+ packets" % re.escape(str(DEMO_PCAP)), out, re.M), out
