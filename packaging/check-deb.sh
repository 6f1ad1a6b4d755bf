#!/usr/bin/env bash
# Checks the headless hub's Debian package (not part of .ci/run: its release build takes
# minutes). Builds it with packaging/deb.sh (arguments go there, e.g. --no-build), then:
#  - control fields, file list, owners, conffiles, no webview dependency;
#  - the unit through `systemd-analyze verify` and `security` (when installed);
#  - with --install (as root, on a throwaway machine: it installs hearthd for real):
#    dpkg -i; the user, data folder and enabled unit; hearthd run as the user the way the
#    unit runs it (umask, working folder, NOTIFY_SOCKET), on non-default loopback ports;
#    a reading published with mosquitto_pub stored in /var/lib/hearth; the dashboard served
#    from /usr/share/hearth/ui; SIGTERM; remove keeps the data, purge deletes it.
# Prints the package's size, installed size, hearthd's size and the start-up time.
set -euo pipefail
cd "$(dirname "$0")/.."
install=false
args=()
for a in "$@"; do
    if [ "$a" = --install ]; then install=true; else args+=("$a"); fi
done

fail() { echo "check-deb: $*" >&2; exit 1; }
deb=$(bash packaging/deb.sh "${args[@]}" | tail -n1)
[ -f "$deb" ] || fail "no package built"
echo "package: $deb"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = hearthd ] || fail "Package is $(field Package)"
depends=$(field Depends)
[[ "$depends" == *libc6* && "$depends" == *adduser* ]] || fail "Depends: $depends"
[[ "$depends" != *webkit* && "$depends" != *gtk* ]] || fail "a webview dependency: $depends"

list=$(dpkg-deb -c "$deb")
for path in ./usr/bin/hearthd ./usr/bin/hearth-sim ./usr/share/hearth/ui/index.html \
    ./lib/systemd/system/hearth.service ./etc/hearth/hearthd.toml \
    ./usr/share/doc/hearthd/README.service ./usr/share/doc/hearthd/copyright; do
    grep -q " $path\$" <<<"$list" || fail "$path is not in the package"
done
! grep -v ' root/root ' <<<"$list" | grep -q . || fail "files not owned by root"
grep -q '^-rwxr-xr-x .* ./usr/bin/hearthd$' <<<"$list" || fail "hearthd is not executable"
ctl=$(mktemp -d)
tree=$(mktemp -d)
trap 'rm -rf "$ctl" "$tree"' EXIT
dpkg-deb -e "$deb" "$ctl"
[ "$(cat "$ctl/conffiles")" = /etc/hearth/hearthd.toml ] || fail "conffiles: $(cat "$ctl/conffiles")"
for s in postinst prerm postrm; do
    [ -x "$ctl/$s" ] && sh -n "$ctl/$s" || fail "$s is not an executable shell script"
done
dpkg-deb -x "$deb" "$tree"
(cd "$tree" && md5sum --quiet -c "$ctl/md5sums") || fail "md5sums do not match"

if command -v systemd-analyze >/dev/null; then
    # verify wants ExecStart's program to exist: the unpacked one stands in.
    sed "s#/usr/bin/hearthd#$tree/usr/bin/hearthd#" "$tree/lib/systemd/system/hearth.service" \
        >"$ctl/hearth.service"
    systemd-analyze verify "$ctl/hearth.service"
    systemd-analyze security --offline=true --threshold=20 --no-pager "$ctl/hearth.service" |
        tail -n1
else
    echo "systemd-analyze is not installed: the unit is not verified"
fi

deb_kib=$(($(stat -c %s "$deb") / 1024))
echo "sizes: .deb $deb_kib KiB; installed $(field Installed-Size) KiB;" \
    "hearthd $(($(stat -c %s "$tree/usr/bin/hearthd") / 1024)) KiB;" \
    "hearth-sim $(($(stat -c %s "$tree/usr/bin/hearth-sim") / 1024)) KiB;" \
    "dashboard $(du -sk "$tree/usr/share/hearth/ui" | cut -f1) KiB"

$install || { echo "check-deb: package checks passed (--install also installs it)"; exit 0; }

[ "$(id -u)" = 0 ] || fail "--install needs root"
if dpkg-query -W -f='${Status}' hearthd 2>/dev/null | grep -q installed; then
    fail "hearthd is already installed here; not touching it"
fi
export DEBIAN_FRONTEND=noninteractive
dpkg -i "$deb"
getent passwd hearth | grep -q ':/var/lib/hearth:/usr/sbin/nologin$' || fail "no hearth user"
[ "$(stat -c '%U %a' /var/lib/hearth)" = "hearth 700" ] || fail "/var/lib/hearth: $(stat -c '%U %a' /var/lib/hearth)"
[ -L /etc/systemd/system/multi-user.target.wants/hearth.service ] || fail "the unit is not enabled"
if [ -d /run/systemd/system ]; then
    systemctl is-active --quiet hearth || fail "the service did not start"
    echo "systemd runs here: $(systemctl show -p ActiveState,SubState,StatusText hearth | tr '\n' ' ')"
fi

# As the unit runs it: user hearth, umask 0077, working folder /var/lib/hearth, its config
# file, a notification socket; the listeners moved to free loopback ports so that nothing
# else on this machine (a hub on 1883) is in the way.
python3 packaging/run-as-unit.py
# Installed again (an upgrade): the admin's settings and the data stay.
echo '# changed by the admin' >>/etc/hearth/hearthd.toml
dpkg -i "$deb"
grep -q '^# changed by the admin$' /etc/hearth/hearthd.toml || fail "an upgrade replaced the settings"
[ -f /var/lib/hearth/hearth.db ] || fail "an upgrade deleted the data"
dpkg -r hearthd
[ -f /var/lib/hearth/hearth.db ] || fail "remove deleted the data"
[ -f /etc/hearth/hearthd.toml ] || fail "remove deleted the conffile"
dpkg -P hearthd
[ ! -e /var/lib/hearth ] || fail "purge left /var/lib/hearth"
[ ! -e /etc/hearth ] || fail "purge left /etc/hearth"
[ ! -e /etc/systemd/system/multi-user.target.wants/hearth.service ] || fail "purge left the unit enabled"
echo "check-deb: installed, ran as the service user, removed and purged"
