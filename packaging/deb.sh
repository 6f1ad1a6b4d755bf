#!/usr/bin/env bash
# Builds the headless hub's Debian package, target/debian/hearthd_<version>_<arch>.deb:
# hearthd and hearth-sim (release build), the dashboard (ui/dist) under /usr/share/hearth/ui,
# the systemd unit hearth.service, /etc/hearth/hearthd.toml (a conffile) and the maintainer
# scripts in packaging/debian/. No webview: the desktop app is src-tauri's own package.
#
#   bash packaging/deb.sh            build what is stale (cargo and vite decide), then package
#   bash packaging/deb.sh --no-build package target/release and ui/dist as they are
#
# A short script around dpkg-deb rather than cargo-deb: the unit, the conffile and the
# maintainer scripts (user, enable/start without systemd, purge) are written by hand either
# way, and this needs nothing beyond dpkg-dev (build-essential) to be installed or built.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if [ "${1:-}" != --no-build ]; then
    cargo build --locked --release --bin hearthd --bin hearth-sim
    (cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build)
fi
for f in target/release/hearthd target/release/hearth-sim ui/dist/index.html; do
    [ -f "$f" ] || { echo "deb.sh: $f is missing (run without --no-build)" >&2; exit 1; }
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
out=target/debian
root=$out/hearthd
rm -rf "$root"
mkdir -p "$root/DEBIAN"

install -D -m 0755 target/release/hearthd "$root/usr/bin/hearthd"
install -D -m 0755 target/release/hearth-sim "$root/usr/bin/hearth-sim"
install -d -m 0755 "$root/usr/share/hearth/ui"
cp -R ui/dist/. "$root/usr/share/hearth/ui/"
# Debian 12's place for a package's units (dh_installsystemd's; /usr/lib from Debian 13).
install -D -m 0644 packaging/hearth.service "$root/lib/systemd/system/hearth.service"
install -D -m 0644 packaging/hearthd.toml "$root/etc/hearth/hearthd.toml"
doc=$root/usr/share/doc/hearthd
install -D -m 0644 packaging/README.service "$doc/README.service"
cat >"$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: hearth

Files: *
License: MIT or Apache-2.0
 On Debian systems the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
# Whatever the builder's umask, the tree is world-readable and only root's to change.
find "$root" -type d -exec chmod 0755 {} +
find "$root/usr/share" "$root/etc" "$root/lib" -type f -exec chmod 0644 {} +

install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm \
    "$root/DEBIAN/"
echo /etc/hearth/hearthd.toml >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' |
    sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"

# The shared libraries the binaries link (glibc, libgcc), with the versions their symbols need.
shlibs=$(mktemp -d)
trap 'rm -rf "$shlibs"' EXIT
mkdir "$shlibs/debian"
printf 'Source: hearth\n\nPackage: hearthd\nArchitecture: any\n' >"$shlibs/debian/control"
bins=("$PWD/$root/usr/bin/hearthd" "$PWD/$root/usr/bin/hearth-sim")
depends=$(cd "$shlibs" && dpkg-shlibdeps -O "${bins[@]}" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

cat >"$root/DEBIAN/control" <<CONTROL
Package: hearthd
Version: $version
Architecture: $arch
Maintainer: Hearth developers <hearth@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends, adduser
Suggests: mosquitto-clients, sqlite3
Section: net
Priority: optional
Description: Hearth smart-home hub as a service (headless)
 Hearth runs an MQTT broker for the home's sensors, lights and phones, records
 every numeric reading in SQLite, tracks light commands until the light replies,
 and serves an HTTP/WebSocket API and a dashboard for browsers and paired phones.
 .
 This package runs it as the systemd service hearth.service, as the user
 hearth, with its data in /var/lib/hearth and its settings in
 /etc/hearth/hearthd.toml. It has no desktop window and needs no display.
CONTROL

deb=$out/hearthd_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
