"""live_driver.py - run inside a fresh network namespace (loopback only) by test_live.py: starts dnsmasq (udp/53),
nginx (tcp/80), a tiny RADIUS accounting responder (udp/1813) and flowcached capturing on lo; drives dnsperf (or
dig), curl and radclient; prints one JSON object with what was sent and what flowcached reported. Every process is
stopped by pid in finally."""
import json, os, shutil, signal, subprocess, sys, tempfile, threading, time, socket
sys.path.insert(0, os.path.dirname(__file__))
import redis
from conftest import wait_ping, free_port, stop_pid, flowcached_binary, sanitizer_report, ROOT
from liveutil import Collector

N_DNS, N_HTTP = int(os.environ.get("LIVE_DNS", "2000")), 20
d = tempfile.mkdtemp(prefix="fc-live-")
procs, res = [], {}


def start(cmd, name):
    p = subprocess.Popen(cmd, stdout=open(os.path.join(d, name + ".log"), "wb"), stderr=subprocess.STDOUT)
    procs.append(p)
    return p


def radius_responder(stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 1813)); s.settimeout(0.2)
    import hashlib
    while not stop.is_set():
        try:
            data, addr = s.recvfrom(4096)
        except socket.timeout:
            continue
        # Accounting-Response: code 5, same id, authenticator = MD5(code+id+len+reqauth+secret)
        hdr = bytes([5, data[1]]) + (20).to_bytes(2, "big")
        auth = hashlib.md5(hdr + data[4:20] + b"testing123").digest()
        s.sendto(hdr + auth, addr)


try:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    port = free_port()
    fc = start([str(flowcached_binary()), "--port", str(port), "--interface", "lo",
                "--bpf", "port 53 or port 80 or port 1813", "--flow-idle-timeout", "5"]
               + json.loads(os.environ.get("LIVE_FC_ARGS", "[]")), "flowcached")
    wait_ping(port, fc, 15, os.path.join(d, "flowcached.log"))
    r = redis.Redis(port=port, decode_responses=True)
    col = Collector(redis.Redis(port=port, decode_responses=True), ("dns", "http", "user.login"))
    start(["dnsmasq", "--port", "53", "--no-daemon", "--no-resolv", "--no-hosts", "--address=/example.test/127.0.0.5",
           "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file=" + d + "/dnsmasq.pid", "--user=root",
           "--cache-size=0", "--log-facility=-"], "dnsmasq")
    conf = os.path.join(d, "nginx.conf")
    open(conf, "w").write("pid %s/nginx.pid; error_log %s/nginx.err; events {} http { access_log off; "
                          "client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; "
                          "scgi_temp_path %s; server { listen 127.0.0.1:80; location / { return 200 'ok'; } } }"
                          % ((d,) * 7))
    start(["nginx", "-c", conf, "-g", "daemon off;"], "nginx")
    stop = threading.Event()
    threading.Thread(target=radius_responder, args=(stop,), daemon=True).start()
    time.sleep(1.0)
    time.sleep(1.0)
    # DNS
    qf = os.path.join(d, "q.txt")
    open(qf, "w").write("www.example.test A\n")
    t0 = time.monotonic()
    if shutil.which("dnsperf"):
        out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", "53", "-d", qf, "-n", str(N_DNS), "-l", "30",
                              "-Q", os.environ.get("LIVE_QPS", "2000"), "-t", "2"], capture_output=True, text=True, timeout=60).stdout
        sent = int([l for l in out.splitlines() if "Queries sent:" in l][0].split()[2])
        completed = int([l for l in out.splitlines() if "Queries completed:" in l][0].split()[2])
        res["dns_tool"] = "dnsperf"
    else:
        sent = completed = 0
        for i in range(min(N_DNS, 200)):
            subprocess.run(["dig", "+short", "+tries=1", "+time=1", "@127.0.0.1", "www.example.test"],
                           capture_output=True, timeout=5)
            sent += 1
        completed = sent
        res["dns_tool"] = "dig"
    res["dns_seconds"] = round(time.monotonic() - t0, 2)
    res["dns_sent"], res["dns_completed"] = sent, completed
    # HTTP
    for i in range(N_HTTP):
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "5", "http://127.0.0.1/x%d" % i,
                        "-H", "Host: web.example.test"], timeout=10)
    # RADIUS (radclient is the real client; the server is the responder above)
    subprocess.run(["radclient", "-x", "-r", "1", "-t", "2", "127.0.0.1:1813", "acct", "testing123"],
                   input="User-Name = alice\nAcct-Status-Type = Start\nFramed-IP-Address = 10.99.0.7\n"
                         "Acct-Session-Id = S1\nNAS-IP-Address = 127.0.0.1\n",
                   capture_output=True, text=True, timeout=20)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        h = r.hgetall("dns.www.example.test")
        if int(h.get("queries", 0)) >= sent and len(col.of("dns")) >= sent and r.get("ipuser.10.99.0.7"):
            break
        time.sleep(0.2)
    col.wait_quiet(1.0, 10)
    res["dns_hash"] = r.hgetall("dns.www.example.test")
    res["dns_events"] = len(col.of("dns"))
    res["http_hash"] = r.hgetall("http.web.example.test")
    res["http_events"] = len(col.of("http"))
    res["ipuser"] = r.get("ipuser.10.99.0.7")
    res["user"] = r.hgetall("user.alice")
    res["user_login_events"] = col.json_of("user.login")
    info = r.info()
    res["capture"] = {k: v for k, v in info.items() if k.startswith("capture") or "drop" in k}
    col.close()
    stop.set()
finally:
    for p in reversed(procs):
        stop_pid(p)
    log = open(os.path.join(d, "flowcached.log"), errors="replace").read()
    res["flowcached_log"] = log[-2000:]
    res["sanitizer"] = sanitizer_report(log)
    shutil.rmtree(d, ignore_errors=True)
print("LIVE-RESULT " + json.dumps(res))
