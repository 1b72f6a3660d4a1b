#!/usr/bin/python3
"""dns_watch.py - suspicious-IP DNS monitor: prints each DNS query made by (or to) a watchlisted address.

usage: dns_watch.py [--host 127.0.0.1] [--port 6380] [--seconds N] [--add IP/CIDR ...]
Listens on alert.watchlist, one message per query (flowcached's `watchlist` directive must name a file, or
`cloud` be set: then the list is the cloud's, and a cloud node's alert.watchlist has every probe's queries);
--add SADDs entries first."""
import argparse, json, time
import redis

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, default=6380)
p.add_argument("--seconds", type=float, default=0)
p.add_argument("--add", nargs="*", default=[])
a = p.parse_args()
r = redis.Redis(host=a.host, port=a.port, decode_responses=True)
if a.add:
    r.sadd("watchlist", *a.add)
ps = r.pubsub(ignore_subscribe_messages=True)
ps.subscribe("alert.watchlist")
print("watching %s" % ", ".join(sorted(r.smembers("watchlist"))), flush=True)
end = time.monotonic() + a.seconds if a.seconds else None
while end is None or time.monotonic() < end:
    m = ps.get_message(timeout=0.5)
    if m:
        ev = json.loads(m["data"])
        if "dns.query" in ev:
            print("DNS %s <-> %s asks %s (listed as %s)" % (ev["ip"], ev["peer"], ev["dns.query"], ev["match"]),
                  flush=True)
