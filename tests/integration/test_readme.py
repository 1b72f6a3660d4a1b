"""test_readme.py - README.md's quick start and "A session" transcript, run against flowcached started as `make run` starts it.

flowcached gets the Makefile's RUN_ARGS (the arguments of `make run`) with two changes: a free port instead of 6380,
and `--pcap-loop no`, so the demo is read once and the cache then kept (`pcap-end keep`, the default): the figures of
the first pass, which the README shows. Every ```sh block of the README before its first section and in "A session"
is a transcript: a `$ redis-cli ...` line runs (with --no-raw, formatted as in a terminal), and the lines up to the
next `$` are what it must print. In them `...` alone stands for any number of lines, a line ending in `...` for any
line that starts with what precedes it, and the lines of `KEYS` are compared as a set (it answers in no fixed order).
The quick-start lines must answer as shown within 20 s of the start (the demo's hosts appear in its first three
seconds); SUBSCRIBE lines run while the file is read (a flow.new each new flow); the others once it has been read.
The README's python block runs too.
"""
import re
import shlex
import shutil
import subprocess
import time

import pytest

from conftest import ROOT, Flowcached

README = ROOT / "README.md"
MAKEFILE = ROOT / "Makefile"
README_PORT = "6380"


def run_args():
    """make run's flowcached arguments (Makefile RUN_ARGS), port left to the fixture, read once."""
    m = re.search(r"^RUN_ARGS\s*:=\s*(.+)$", MAKEFILE.read_text(), re.M)
    assert m, "Makefile has no RUN_ARGS line"
    args = shlex.split(m.group(1))
    assert args[args.index("--port") + 1] == README_PORT, "make run and the README use different ports"
    del args[args.index("--port"):args.index("--port") + 2]
    assert args[args.index("--pcap-loop") + 1] == "yes"
    args[args.index("--pcap-loop") + 1] = "no"
    return args


def sections():
    """{"quick start": text before the first '## ', "A session": that section's text, ...}."""
    text = README.read_text()
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    out = {"quick start": parts[0]}
    for i in range(1, len(parts) - 1, 2):
        out[parts[i].strip()] = parts[i + 1]
    return out


def transcripts(section):
    """[(command, [expected lines])] of the `$ redis-cli` lines of a section's sh blocks."""
    steps = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        current = None
        for line in block.splitlines():
            if line.startswith("$ "):
                current = None
                cmd = line[2:].split(" #")[0].strip()
                if cmd.startswith("redis-cli"):
                    current = (cmd, [])
                    steps.append(current)
            elif current is not None:
                current[1].append(line)
    return steps


def matches(cmd, expected, actual):
    """Does the output (list of lines) match what the README shows? See the module's docstring."""
    if re.search(r"\bKEYS\b", cmd, re.I):
        strip = lambda lines: {re.sub(r"^\s*\d+\) ", "", x) for x in lines if x != "..."}
        want, got = strip(expected), strip(actual)
        return want <= got if "..." in expected else want == got
    pattern = ""
    for line in expected:
        if line == "...":
            pattern += r"(?:[^\n]*\n)*?"
        elif line.endswith("..."):
            pattern += re.escape(line[:-3]) + r"[^\n]*\n"
        else:
            pattern += re.escape(line) + r"\n"
    return re.fullmatch(pattern, "".join(x + "\n" for x in actual)) is not None


def shell_cmd(cmd, port):
    """The README's command for this server: --no-raw (the output a terminal shows) and the test's port."""
    assert " -p %s " % README_PORT in cmd, cmd
    return cmd.replace("redis-cli", "redis-cli --no-raw", 1).replace(" -p %s " % README_PORT, " -p %d " % port)


def run_once(cmd, port, timeout=10):
    r = subprocess.run(["sh", "-c", shell_cmd(cmd, port)], capture_output=True, text=True, timeout=timeout)
    return r.stdout.splitlines()


def run_until(cmd, expected, port, seconds):
    """Runs the command until its output matches (or seconds pass); returns the last output."""
    deadline = time.monotonic() + seconds
    while True:
        out = run_once(cmd, port)
        if matches(cmd, expected, out) or time.monotonic() > deadline:
            return out
        time.sleep(0.5)


def subscribe_output(cmd, expected, port, seconds=15):
    """A SUBSCRIBE line never ends: its output is read until it matches what is shown (or seconds pass)."""
    p = subprocess.Popen(["stdbuf", "-o0", "sh", "-c", "exec " + shell_cmd(cmd, port)], stdout=subprocess.PIPE,
                         text=True)
    lines = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not matches(cmd, expected, lines):
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
    finally:
        p.kill()
        p.wait()
    return lines


@pytest.fixture(scope="module")
def demo_run():
    if not shutil.which("redis-cli"):
        pytest.skip("redis-cli not installed")
    args = run_args()
    config = args.pop(0) if not args[0].startswith("--") else None
    fc = Flowcached(*args, config=config)
    try:
        yield fc
    finally:
        fc.stop()
        fc.check_clean()


def test_readme_transcripts(demo_run):
    fc = demo_run
    quick = transcripts(sections()["quick start"])
    session = transcripts(sections()["A session"])
    assert len(quick) >= 3 and len(session) >= 4, (quick, session)
    bad = []
    for cmd, want in quick:                       # while the demo is being read, as a new user would
        got = run_until(cmd, want, fc.port, 20)
        if not matches(cmd, want, got):
            bad.append((cmd, want, got))
    for cmd, want in session:
        if re.search(r"\bSUBSCRIBE\b", cmd, re.I):
            got = subscribe_output(cmd, want, fc.port)
            if not matches(cmd, want, got):
                bad.append((cmd, want, got))
    fc.wait_pcap_done(timeout=150)                # one pass at recorded speed: about a minute
    for cmd, want in session:
        if not re.search(r"\bSUBSCRIBE\b", cmd, re.I):
            got = run_once(cmd, fc.port)
            if not matches(cmd, want, got):
                bad.append((cmd, want, got))
    assert not bad, "README lines that do not answer as shown:\n" + "\n\n".join(
        "%s\n  README: %r\n  answer: %r" % b for b in bad)

    code = re.search(r"```python\n(.*?)```", sections()["A session"], re.S).group(1)
    code = code.replace("port=%s" % README_PORT, "port=%d" % fc.port)
    r = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()
    assert rows and all(re.fullmatch(r"ip\.\S+ \d+ \d+ \d+", x) for x in rows), r.stdout[-2000:]

    ready = [x for x in fc.output().splitlines() if " ready: " in x]
    assert ready and ready[0].endswith("; try: redis-cli -p %d KEYS 'ip.*'" % fc.port), ready
