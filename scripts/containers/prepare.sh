#!/usr/bin/env bash
# Gets the container suite ready: podman's configuration here (runc: crun refuses this cgroup
# layout; cgroupfs: no systemd; default ulimits), the base image, then the three images. Builds
# use the host network; the host's CA bundle (and an npmrc naming it) is mounted into build steps
# only, for proxies that re-sign TLS (BUILD_CA= turns it off). Without podman: one line, stop.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v podman >/dev/null 2>&1; then
  echo "containers: podman is not installed (scripts/install-test-tools.sh --containers installs it)" >&2
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi

set_conf() { # FILE SECTION KEY VALUE
  local file=$1 section=$2 key=$3 value=$4
  if grep -qE "^[[:space:]]*${key}[[:space:]]*=" "$file"; then
    sed -i -E "s|^[[:space:]]*${key}[[:space:]]*=.*|$key = $value|" "$file"
  elif grep -qE "^\[$section\]" "$file"; then
    sed -i -E "/^\[$section\]/a $key = $value" "$file"
  else
    printf '\n[%s]\n%s = %s\n' "$section" "$key" "$value" >>"$file"
  fi
}

if [ "$(id -u)" = 0 ]; then
  conf=/etc/containers/containers.conf
  mkdir -p "$(dirname "$conf")"
  touch "$conf"
  set_conf "$conf" containers default_ulimits '["nofile=1024:1024", "nproc=4096:4096"]'
  set_conf "$conf" engine runtime '"runc"'
  set_conf "$conf" engine cgroup_manager '"cgroupfs"'
fi

bash scripts/containers/base-image.sh

build_flags=(--network host)
ca=${BUILD_CA-/etc/ssl/certs/ca-certificates.crt}
if [ -n "$ca" ] && [ -f "$ca" ]; then
  npmrc=$(mktemp /var/tmp/build-npmrc.XXXXXX)
  trap 'rm -f "$npmrc"' EXIT
  echo "cafile=/run/build-ca.crt" >"$npmrc"
  chmod 0644 "$npmrc"
  build_flags+=(--volume "$ca:/run/build-ca.crt:ro" --volume "$npmrc:/usr/local/etc/npmrc:ro")
fi
DOCKER=podman BUILD_FLAGS="${build_flags[*]}" bash scripts/build-images.sh
