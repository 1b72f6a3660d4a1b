#!/usr/bin/python3
"""url_alert.py - print an alert, with the user behind the client IP, for each HTTP request whose URL matches REGEX.

usage: url_alert.py [--host 127.0.0.1] [--port 6380] [--seconds N] REGEX
Subscribes to flowcached's `http` channel; the user comes from `GET ipuser.<client>` (RADIUS accounting)."""
import argparse, json, re, time
import redis

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, default=6380)
p.add_argument("--seconds", type=float, default=0, help="stop after N seconds (0 = run forever)")
p.add_argument("regex")
a = p.parse_args()
rx = re.compile(a.regex)
r = redis.Redis(host=a.host, port=a.port, decode_responses=True)
ps = r.pubsub(ignore_subscribe_messages=True)
ps.subscribe("http")
print("listening", flush=True)
end = time.monotonic() + a.seconds if a.seconds else None
while end is None or time.monotonic() < end:
    m = ps.get_message(timeout=0.5)
    if not m:
        continue
    ev = json.loads(m["data"])
    url = ev["host"] + ev["url"]
    if rx.search(url):
        user = r.get("ipuser." + ev["client"]) or "-"
        print("ALERT user=%s client=%s %s http://%s status=%s" % (user, ev["client"], ev["method"], url, ev["status"]),
              flush=True)
