#!/bin/sh
# deps.sh - install the Debian 12 packages that the build, `make run` and `make test` need, when missing.
# Quiet when everything is present; as non-root, prints the sudo command to run and exits 1.
set -eu

PKGS="build-essential pkg-config libpcap-dev libuv1-dev libndpi-dev libhiredis-dev libjemalloc-dev redis-server
redis-tools python3 python3-redis python3-pytest tshark
dnsmasq dnsperf bind9-dnsutils freeradius freeradius-utils nginx-light curl python3-matplotlib libredis-perl
valgrind iproute2 clang libclang-rt-14-dev prometheus-redis-exporter chromium
libndpi-bin softflowd time linux-perf"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *" ok installed") ;;
        *) missing="$missing $p" ;;
    esac
done
missing=${missing# }
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "sudo apt-get install $missing"
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
echo "deps.sh: installing $missing" >&2
apt-get update -qq
# The test daemons (dnsmasq, nginx, freeradius, redis) are started by the tests themselves, on
# loopback, and stopped by pid: keep apt from starting system-wide copies while installing.
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
