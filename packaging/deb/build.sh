#!/bin/sh
# Builds logferry_<version>_<arch>.deb from this tree with dpkg-deb.
#
#   packaging/deb/build.sh [BUILD_DIR [OUT_DIR]]
#
# With BUILD_DIR, packages the logferry binary already built there (a
# build with sanitizers gives a package that depends on their runtime
# libraries). Without it, configures and builds build-deb/ in release
# mode first. The package lands in OUT_DIR, by default the current
# folder.
# Needs dpkg-dev (dpkg-shlibdeps) and binutils (strip), and no root:
# files are owned by root in the package whatever the builder's uid.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ $# -gt 2 ]; then
    echo "usage: $0 [BUILD_DIR [OUT_DIR]]" >&2
    exit 2
fi
if [ $# -ge 1 ]; then
    build=$1
else
    build=$root/build-deb
    if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" "$root" --buildtype=release
    fi
    ninja -C "$build" agent/logferry
fi
out=${2:-.}

binary=$build/agent/logferry
if [ ! -x "$binary" ]; then
    echo "$0: $binary is not an executable file: build logferry in" \
         "$build first (meson setup $build && ninja -C $build)" >&2
    exit 1
fi

# `logferry --version` prints "logferry X.Y.Z".
version=$("$binary" --version | sed -n 's/^logferry //p')
if [ -z "$version" ]; then
    echo "$0: '$binary --version' printed no version" >&2
    exit 1
fi
arch=$(dpkg --print-architecture)

work=$(mktemp -d "${TMPDIR:-/tmp}/logferry-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
pkg=$work/pkg

install -d -m 0755 "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/etc/logferry" \
    "$pkg/lib/systemd/system" "$pkg/usr/share/man/man1" \
    "$pkg/usr/share/doc/logferry"
# postinst hands /var/lib/logferry to the logferry user, which does not
# exist yet when dpkg unpacks the package.
install -d -m 0755 "$pkg/var/lib/logferry"

install -m 0755 "$binary" "$pkg/usr/bin/logferry"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$pkg/usr/bin/logferry"
install -m 0644 "$here/logferry.yml" "$pkg/etc/logferry/logferry.yml"
install -m 0644 "$here/logferry.service" \
    "$pkg/lib/systemd/system/logferry.service"
sed "s/@VERSION@/$version/" "$here/logferry.1" |
    gzip -9n >"$pkg/usr/share/man/man1/logferry.1.gz"
chmod 0644 "$pkg/usr/share/man/man1/logferry.1.gz"
install -m 0644 "$here/copyright" "$pkg/usr/share/doc/logferry/copyright"

for script in postinst prerm postrm; do
    install -m 0755 "$here/$script" "$pkg/DEBIAN/$script"
done
echo /etc/logferry/logferry.yml >"$pkg/DEBIAN/conffiles"
chmod 0644 "$pkg/DEBIAN/conffiles"

# dpkg-shlibdeps reads debian/control of the current directory.
mkdir -p "$work/src/debian"
printf 'Source: logferry\n\nPackage: logferry\nArchitecture: any\n' \
    >"$work/src/debian/control"
shlibs=$(cd "$work/src" &&
         dpkg-shlibdeps -O -e"$pkg/usr/bin/logferry" |
         sed -n 's/^shlibs:Depends=//p')
if [ -z "$shlibs" ]; then
    echo "$0: dpkg-shlibdeps found no shared library dependencies" >&2
    exit 1
fi

size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: logferry
Version: $version
Architecture: $arch
Maintainer: logferry authors <logferry@localhost>
Installed-Size: $size
Depends: $shlibs, adduser
Section: admin
Priority: optional
Description: log shipper for Elasticsearch and CloudWatch Logs
 logferry tails application log files, parses each line into Elastic
 Common Schema fields and ships the documents to Elasticsearch or
 Amazon CloudWatch Logs. It saves how far each file was acknowledged,
 so restarts, crashes and log rotation neither lose nor repeat a line.
CONTROL
chmod 0644 "$pkg/DEBIAN/control"

(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
     sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/logferry_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
