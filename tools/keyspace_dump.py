#!/usr/bin/python3
"""keyspace_dump.py - run flowcached on a capture and print every key with its whole value, sorted.

Two builds of flowcached give byte-identical output on the same capture when a change keeps the
keyspace as it was (restructuring, speed work):

    tools/keyspace_dump.py ./flowcached demo/demo.pcap > before.txt
    ... change, rebuild ...
    tools/keyspace_dump.py ./flowcached demo/demo.pcap > after.txt && cmp before.txt after.txt

The capture is read at full speed with `pcap-end keep`, so timeouts follow packet time and the
result does not depend on the machine. TTLs are not printed (they follow the wall clock while the
dump runs). Extra arguments after the capture go to flowcached (e.g. --flow-idle-timeout 1).
"""
import os
import subprocess
import sys
import tempfile
import time

import redis

from toolutil import free_port


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: keyspace_dump.py FLOWCACHED CAPTURE [flowcached arguments...]")
    fc, pcap, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([fc, "--pcap", pcap, "--pcap-end", "keep", "--port", str(port)] + extra,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        r = redis.Redis(port=port, decode_responses=False, socket_timeout=30)
        deadline = time.time() + 600
        while True:
            if proc.poll() is not None:
                log.seek(0)
                sys.exit("flowcached exited early:\n" + log.read().decode(errors="replace"))
            try:
                if r.info("capture").get("capture_sources_active") == 0:
                    break
            except redis.ConnectionError:
                pass
            if time.time() > deadline:
                sys.exit("capture not done after 600 s")
            time.sleep(0.1)
        keys = sorted(r.keys("*"))
        out = sys.stdout.buffer
        for k in keys:
            t = r.type(k)
            if t == b"hash":
                h = r.hgetall(k)
                val = b" ".join(f + b"=" + h[f] for f in sorted(h))
            elif t == b"string":
                val = r.get(k) or b""
            elif t == b"set":
                val = b" ".join(sorted(r.smembers(k)))
            else:
                val = b""
            out.write(k + b" " + t + b" " + val + b"\n")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait()


if __name__ == "__main__":
    main()
