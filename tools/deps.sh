#!/bin/sh
# deps.sh - install the Debian 12 packages one goal needs, when missing:
#   tools/deps.sh run    build flowcached and query it (make run)
#   tools/deps.sh test   run + every tool the tests drive (make test)
#   tools/deps.sh bench  run + the reference programs of make bench
#   tools/deps.sh fuzz   run + clang's libFuzzer (make fuzz)
#   tools/deps.sh all    every goal's packages
# Quiet when everything is present. As root it installs what is missing; otherwise it prints
# the one command to run and exits 1.
set -eu

goal=${1:-run}

# Building (compiler, libpcap, libuv, nDPI, hiredis, jemalloc) and a client to query the demo.
RUN="build-essential pkg-config libpcap-dev libuv1-dev libndpi-dev libhiredis-dev libjemalloc-dev redis-tools"
# The tests: redis-server (reference and cloud nodes), pytest + redis-py, tshark (dissector oracle,
# editcap), the live-capture lab (iproute2 namespaces, dnsmasq, dnsperf, nginx, curl, radclient),
# SIPp (sip-tester: calls with RTP media) and net-snmp (snmpd, snmp: snmpget / snmpwalk) for test_voip.py,
# the examples (matplotlib, Perl Redis), the flow collectors of the export tests (nfdump's nfcapd,
# pmacct's nfacctd), valgrind, redis_exporter and Chromium for the dashboards,
# node/npm for node-redis, ioredis and Redis Commander (npm ci in tests/clients, from the npm
# registry), systemd-analyze and groff for the unit and the man page of make install, prometheus (promtool and
# a server scraping the metrics endpoint), tcl for Redis' own test suite (test_redis_suite.py, given
# REDIS_SRC, a Redis 7.0 source tree).
TEST="redis-server python3 python3-redis python3-pytest tshark iproute2 dnsmasq dnsperf nginx-light curl
freeradius-utils python3-matplotlib libredis-perl nfdump pmacct valgrind prometheus-redis-exporter chromium
nodejs npm systemd groff-base prometheus tcl sip-tester snmpd snmp"
# make bench: redis-server and redis-benchmark, ndpiReader, softflowd, dnsmasq + dnsperf, perf.
BENCH="redis-server python3 python3-redis libndpi-bin softflowd dnsmasq dnsperf linux-perf tcpreplay"
# make fuzz CC=clang: clang and its libFuzzer runtime.
FUZZ="clang libclang-rt-14-dev"

case "$goal" in
    run) PKGS="$RUN" ;;
    test) PKGS="$RUN $TEST" ;;
    bench) PKGS="$RUN $BENCH" ;;
    fuzz) PKGS="$RUN $FUZZ" ;;
    all) PKGS="$RUN $TEST $BENCH $FUZZ" ;;
    *) echo "usage: $0 run|test|bench|fuzz|all" >&2; exit 2 ;;
esac

# Is package $1 there? Debian's status, or for node and npm the command (a nodejs package from
# elsewhere, such as NodeSource's, bundles npm and is not Debian's "npm").
present() {
    case "$1" in
        nodejs) command -v node >/dev/null 2>&1 && return 0 ;;
        npm) command -v npm >/dev/null 2>&1 && return 0 ;;
    esac
    case "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" in
        *" ok installed") return 0 ;;
    esac
    return 1
}

missing=""
for p in $PKGS; do
    case " $missing " in *" $p "*) continue ;; esac
    present "$p" || missing="$missing $p"
done
missing=${missing# }
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    echo "deps.sh: '$goal' needs these Debian 12 packages, missing here: $missing" >&2
    echo "Run as root, then run make again:" >&2
    echo "sudo $here/deps.sh $goal"
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
echo "deps.sh: installing for '$goal': $missing" >&2
apt-get update -qq
# The test daemons (dnsmasq, nginx, redis) are started by the tests themselves, on loopback, and
# stopped by pid: keep apt from starting system-wide copies while installing.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
fi
status=0
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing || status=$?
[ "$own_policy" = 1 ] && rm -f "$policy"
exit $status
