#!/usr/bin/env bash
# The hearthd package under a real systemd: boots a Debian 12 container (debootstrap, cached
# in target/debian/bookworm; systemd-nspawn with a private network, so nothing it serves or
# advertises leaves it), installs target/debian/hearthd_*.deb (build it first with
# packaging/deb.sh), and checks what an admin relies on: the service starts by itself as
# hearth with its sandbox, says it is ready with its listeners as status, stores a reading
# in /var/lib/hearth, serves the dashboard, commits a burst of readings on `systemctl stop`,
# does not restart on a bad config file, and survives remove and purge as the package says.
# Prints start-up times (exec to READY=1 as systemd saw it). Root only; not in .ci/run
# (it downloads Debian packages and boots a container: about two minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "check-systemd: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root"
deb=$(ls target/debian/hearthd_*.deb 2>/dev/null | tail -n1)
[ -n "$deb" ] || fail "no package: run bash packaging/deb.sh first"
for tool in debootstrap systemd-nspawn; do
    command -v "$tool" >/dev/null || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            debootstrap systemd-container >/dev/null
    }
done

rootfs=target/debian/bookworm
if [ ! -x "$rootfs/lib/systemd/systemd" ]; then
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,adduser,mosquitto-clients,curl,sqlite3,procps \
        bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    echo hearth-ct >"$rootfs/etc/hostname"
fi
cp "$deb" "$rootfs/root/hearthd.deb"

log=$(mktemp)
SYSTEMD_NSPAWN_LOCK=0 systemd-nspawn -q -D "$rootfs" --register=no --keep-unit \
    --private-network --boot --console=pipe >"$log" 2>&1 &
nspawn=$!
ct=""
cleanup() {
    [ -n "$ct" ] && nsenter -t "$ct" -a systemctl poweroff >/dev/null 2>&1 || true
    for _ in $(seq 50); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.2; done
    kill "$nspawn" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT
for _ in $(seq 100); do
    ct=$(pgrep -P "$nspawn" -x systemd || true)
    [ -n "$ct" ] && break
    sleep 0.1
done
[ -n "$ct" ] || fail "the container did not boot: $(cat "$log")"
in_ct() { nsenter -t "$ct" -a "$@"; }
for _ in $(seq 100); do
    state=$(in_ct systemctl is-system-running 2>/dev/null || true)
    [ "$state" = running ] || [ "$state" = degraded ] && break
    sleep 0.2
done
echo "container booted: systemd $(in_ct systemctl --version | head -n1 | cut -d' ' -f2), $state"

# The cached container may hold an earlier run's package and settings.
in_ct dpkg -P hearthd >/dev/null 2>&1 || true
in_ct dpkg -i /root/hearthd.deb >/dev/null 2>&1 || fail "dpkg -i failed"
in_ct systemctl is-active --quiet hearth || fail "not started: $(in_ct systemctl status hearth --no-pager)"
status=$(in_ct systemctl show -p StatusText --value hearth)
[[ "$status" == "listening: mqtt 0.0.0.0:1883, "* ]] || fail "status: $status"
echo "systemctl status hearth: $status"
pid=$(in_ct systemctl show -p MainPID --value hearth)
in_ct sh -c "grep -E '^(Uid|NoNewPrivs|Seccomp|CapEff):' /proc/$pid/status" | tr -s '\t\n' '  '
echo
[ "$(in_ct stat -c %U /proc/"$pid")" = hearth ] || fail "not running as hearth"
in_ct grep -q '^Seccomp:.*2$' /proc/"$pid"/status || fail "no system call filter"

q="SELECT COUNT(*) FROM readings r JOIN series s ON s.id = r.series_id WHERE s.topic ="
in_ct mosquitto_pub -h 127.0.0.1 -p 1883 -q 1 -t home/ct/temperature -m 22.5
for _ in $(seq 50); do
    n=$(in_ct sqlite3 /var/lib/hearth/hearth.db "$q 'home/ct/temperature'")
    [ "$n" = 1 ] && break
    sleep 0.1
done
[ "$n" = 1 ] || fail "the reading was not stored"
in_ct curl -sf http://127.0.0.1:8080/ | grep -q '<title>Hearth</title>' || fail "no dashboard at :8080"
in_ct curl -sf http://127.0.0.1:8080/api/devices | grep -q '"ct/temperature"' || fail "no device"
in_ct runuser -u hearth -- hearthd history home/ct/temperature --config /etc/hearth/hearthd.toml \
    --last 1h | grep -q '22.5' || fail "hearthd history as hearth found no reading"
echo "a reading stored in /var/lib/hearth/hearth.db (hearthd history finds it); dashboard and API on :8080"

in_ct sh -c 'seq 1 300 | mosquitto_pub -h 127.0.0.1 -p 1883 -q 1 -t home/burst/temperature -l'
in_ct systemctl stop hearth
n=$(in_ct sqlite3 /var/lib/hearth/hearth.db "$q 'home/burst/temperature'")
[ "$n" = 300 ] || fail "systemctl stop right after 300 readings kept $n"
echo "systemctl stop right after 300 readings: all 300 committed"

times=()
for _ in $(seq 7); do
    in_ct systemctl start hearth
    a=$(in_ct systemctl show -p ExecMainStartTimestampMonotonic --value hearth)
    b=$(in_ct systemctl show -p ActiveEnterTimestampMonotonic --value hearth)
    times+=($(((b - a) / 1000)))
    in_ct systemctl stop hearth
    in_ct systemctl reset-failed hearth
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
echo "start-up, exec to READY=1 under the unit (ms, sorted): $sorted(median $(printf '%s\n' "${times[@]}" | sort -n | sed -n 4p))"

in_ct sh -c 'echo "bogus = 1" >>/etc/hearth/hearthd.toml'
in_ct systemctl start hearth 2>/dev/null && fail "started with a bad config file"
sleep 6
[ "$(in_ct systemctl show -p NRestarts --value hearth)" = 0 ] || fail "restarted on a bad config file"
in_ct journalctl -u hearth -p err --no-pager -q | grep -q "unknown field \`bogus\`" ||
    fail "the reason is not an error in the journal"
in_ct sed -i '/^bogus = 1$/d' /etc/hearth/hearthd.toml
in_ct systemctl reset-failed hearth
echo "a bad config file: exit 2, not restarted, the reason at journalctl -p err"

in_ct systemctl start hearth
in_ct dpkg -r hearthd >/dev/null
in_ct systemctl is-active --quiet hearth && fail "still running after remove"
in_ct test -f /var/lib/hearth/hearth.db || fail "remove deleted the data"
in_ct dpkg -P hearthd >/dev/null
in_ct test ! -e /var/lib/hearth || fail "purge left /var/lib/hearth"
echo "check-systemd: passed (removed: stopped, data kept; purged: data gone)"
