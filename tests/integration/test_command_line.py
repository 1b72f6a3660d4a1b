"""test_command_line.py - flowcached's own options: --version/-v, --help listing every directive with its default (from
the directive table, so it agrees with CONFIG GET), and multi-word values as redis-server reads them."""
import re
import subprocess

import pytest

from conftest import DEMO_PCAP, ROOT, Flowcached, flowcached_binary

SECRETS = {"requirepass", "cloud-password"}       # CONFIG GET does not show them


def run(*args):
    exe = flowcached_binary()
    if not exe.exists():
        pytest.skip("flowcached binary not built: %s" % exe)
    return subprocess.run([str(exe)] + [str(a) for a in args], capture_output=True, text=True, timeout=30, cwd=ROOT)


def help_table():
    """{directive: default} from --help."""
    r = run("--help")
    assert r.returncode == 0, r.stderr
    rows = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^  --(\S+) \S+\s+(\S+)\s+\S", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


@pytest.mark.parametrize("args", [["--version"], ["-v"], ["conf/flowcached.conf", "--version"],
                                  ["--port", "0", "-v"]])
def test_version_prints_and_exits_0(args):
    r = run(*args)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"flowcached \d+\.\d+\.\d+ \(RESP server compatible with Redis [\d.]+\)\n", r.stdout), r.stdout


def test_help_lists_every_directive_with_the_default_config_get_shows():
    table = help_table()
    fc = Flowcached()
    try:
        got = fc.client().config_get("*")
    finally:
        fc.stop()
    assert len(table) > 30 and SECRETS <= set(table)
    assert set(table) - SECRETS <= set(got), set(table) - SECRETS - set(got)   # CONFIG GET adds Redis' own fields

    def size(text):
        m = re.fullmatch(r"(\d+)(mb|gb)?", text)
        return int(m.group(1)) << {None: 0, "mb": 20, "gb": 30}[m.group(2)]

    for name, default in table.items():
        if name in SECRETS or name in ("port", "bind"):       # the test server has its own port and bind
            continue
        want = got[name] if got[name] != "" else '""'
        if re.fullmatch(r"\d+(mb|gb)", default):
            assert size(default) == int(want), (name, default, want)
        else:
            assert default == want, (name, default, want)
    assert table["port"] == "6380" and table["bind"] == "127.0.0.1"


def test_help_exits_0_wherever_it_stands():
    r = run("conf/flowcached.conf", "--port", "7000", "--help")
    assert r.returncode == 0 and "--pcap-end keep|expire|exit" in r.stdout, r.stdout + r.stderr


def test_a_value_of_several_words_runs_to_the_next_dashes(flowcached):
    fc = flowcached("--bpf", "udp", "port", "53", "--pcap", DEMO_PCAP, "--pcap-end", "keep")
    fc.wait_pcap_done()
    c = fc.client()
    assert c.config_get("bpf") == {"bpf": "udp port 53"}
    assert c.keys("proto.*") == ["proto.DNS"]


def test_list_directives_still_take_one_value_per_word():
    r = run("--port", "0", "--pcap", DEMO_PCAP, "/nonexistent-second.pcap", "--pcap-end", "exit")
    # read as a second file (not one value "a b"): opening it fails after the configuration, in the log (stdout)
    assert r.returncode == 1 and "# pcap /nonexistent-second.pcap: " in r.stdout, r.stdout + r.stderr


def test_a_bad_option_points_to_help():
    r = run("--no-such-directive", "1")
    assert r.returncode == 1
    assert "unknown directive 'no-such-directive'" in r.stderr and "--help" in r.stderr, r.stderr
