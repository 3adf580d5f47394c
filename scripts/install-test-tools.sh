#!/usr/bin/env bash
# Installs the system tools the tests run (apt-get, as root on Debian); otherwise one line per
# missing tool names its package and those tests skip. Under CI=true a missing tool is an error.
#   bash scripts/install-test-tools.sh [--containers] [--bench]
#     (--containers: podman, buildah, ...; --bench: wrk, a second load client for the bench)
#   TEST_TOOLS_INSTALL=no  only report, never install
set -euo pipefail

containers=false
bench=false
for arg in "$@"; do
  case "$arg" in
    --containers) containers=true ;;
    --bench) bench=true ;;
    *)
      echo "install-test-tools.sh: unknown option '$arg' (known: --containers, --bench)" >&2
      exit 2
      ;;
  esac
done

# Some of the tools live in sbin, which a user's PATH may not hold.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
gocode=/usr/share/gocode/src

tools=()
packages=()
# need TOOL PACKAGE [PATH]: TOOL is a command, or a file or folder when PATH is given.
need() {
  if [ $# -eq 3 ]; then
    [ -e "$3" ] && return
  else
    command -v "$1" >/dev/null 2>&1 && return
  fi
  tools+=("$1")
  packages+=("$2")
}

scan() {
  tools=()
  packages=()
  need shellcheck shellcheck
  need promtool prometheus
  need psql postgresql-client
  need pg_dump postgresql-client
  need pgbouncer pgbouncer
  # The /docs page is checked in a headless browser.
  need chromium chromium
  # The chart is rendered by helm, or without it by tools/helm-template, built with Go.
  if ! command -v helm >/dev/null 2>&1; then
    need go golang-go
    need "Go library sprig" golang-github-masterminds-sprig-dev "$gocode/github.com/Masterminds/sprig"
    need "Go library yaml.v2" golang-gopkg-yaml.v2-dev "$gocode/gopkg.in/yaml.v2"
  fi
  if [ "$containers" = true ]; then
    need podman podman
    need buildah buildah
    need runc runc
    need debootstrap debootstrap
    need docker-compose docker-compose
    need newuidmap uidmap
    # podman kube play builds its pause image around catatonit.
    need catatonit catatonit
  fi
  if [ "$bench" = true ]; then
    need wrk wrk
  fi
}

scan
[ ${#tools[@]} -eq 0 ] && exit 0

if [ "${TEST_TOOLS_INSTALL:-yes}" != no ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  mapfile -t install < <(printf '%s\n' "${packages[@]}" | sort -u)
  echo "install-test-tools: apt-get install ${install[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || echo "install-test-tools: apt-get update failed; using the package lists there are" >&2
  apt-get install -y -qq "${install[@]}" >/dev/null || echo "install-test-tools: apt-get install failed" >&2
  scan
  [ ${#tools[@]} -eq 0 ] && exit 0
fi

for i in "${!tools[@]}"; do
  echo "install-test-tools: ${tools[$i]} is missing: apt-get install ${packages[$i]}" >&2
done
if [ "${CI:-}" = true ]; then
  echo "install-test-tools: CI=true and the tests need ${tools[*]}" >&2
  exit 1
fi
