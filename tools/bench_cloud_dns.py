#!/usr/bin/python3
"""bench_cloud_dns.py - the cloud write rate of two probes fed opposite directions of one capture (asymmetric
routing, where DNS queries and answers are matched in the cloud), into one real redis-server.

  /usr/bin/python3 tools/bench_cloud_dns.py [--flowcached build/plain/flowcached] [--seed 777] [--sessions 3000]
                                            [--speed 6] [--window 5]

It generates the capture with tools/gen_demo.py (60 s of traffic), splits it by direction, replays both halves
at --speed times recorded speed at the same time, waits for every DNS verdict, and prints one JSON line: the
capture's wall time, the commands the probes sent, the commands Redis ran (INFO commandstats: those a function
calls count too) and both per second of capture, the bytes Redis received, the dns.* queries (the truth is
the generator's) and the commands Redis ran most. Redis and both probes are started and stopped here (by pid),
with the helpers of tests/integration/cloudutil.py. --window 0 runs a build that has no cloud-dns-window.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowcached", default=str(ROOT / "build" / "plain" / "flowcached"))
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--sessions", type=int, default=3000)
    ap.add_argument("--speed", default="6")
    ap.add_argument("--window", type=int, default=5)
    a = ap.parse_args()
    os.environ["FLOWCACHED"] = os.path.abspath(a.flowcached)
    import redis
    from cloudutil import RedisNode, info, split_pcap, start_bg, stop_and_check, wait_for
    d = Path(tempfile.mkdtemp(prefix="bench-cloud-dns-"))
    pcap, up, down = d / "g.pcap", d / "up.pcap", d / "down.pcap"
    subprocess.run([sys.executable, str(ROOT / "tools" / "gen_demo.py"), "--seed", str(a.seed), "--sessions",
                    str(a.sessions), "--out", str(pcap), "--truth", str(d / "g.json")], check=True,
                   capture_output=True)
    split_pcap(pcap, up, down)
    truth = json.loads((d / "g.json").read_text())
    n = RedisNode()
    procs = []
    try:
        c = n.client()
        c.config_resetstat()
        extra = ["--cloud-dns-window", str(a.window)] if a.window else []
        t0 = time.monotonic()
        for name, p in (("up", up), ("down", down)):
            procs.append(start_bg("--pcap", p, "--pcap-speed", a.speed, "--pcap-end", "expire", "--cloud", n.addr(),
                                  "--probe-id", name, *extra))
        for _, port, _ in procs:
            wait_for(lambda: int(redis.Redis(port=port).info()["capture_sources_active"]) == 0, 600)
        t1 = time.monotonic()
        for _, port, _ in procs:
            wait_for(lambda: int(info(port).get("cloud_dns_verdicts_waiting", 0)) == 0 and
                     int(info(port)["cloud_queued_commands"]) == 0, 600)
        time.sleep(2)
        sent = sum(int(info(port)["cloud_sent_commands"]) for _, port, _ in procs)
        st = c.info("commandstats")
        calls = sum(v["calls"] for v in st.values())
        out = {"capture_s": round(t1 - t0, 1), "probe_sent": sent, "sent_per_s": round(sent / (t1 - t0)),
               "redis_calls": calls, "calls_per_s": round(calls / (t1 - t0)),
               "net_in_MB": round(c.info("stats")["total_net_input_bytes"] / 1e6, 1),
               "dns_queries": sum(int(c.hget(k, "queries") or 0) for k in c.keys("dns.*")),
               "dns_queries_truth": sum(truth["dns_queries_by_name"].values()),
               "top": sorted(((k[8:], v["calls"]) for k, v in st.items()), key=lambda x: -x[1])[:8]}
        print(json.dumps(out))
    finally:
        for proc, _, log in procs:
            stop_and_check(proc, log)
        n.close()
        for f in d.iterdir():
            f.unlink()
        d.rmdir()


if __name__ == "__main__":
    main()
