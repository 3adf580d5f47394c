#!/usr/bin/env bash
# Builds the three images (`npm run images`), each tagged with its package.json version.
# scripts/build-images.sh --help lists the settings.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
Usage: scripts/build-images.sh [IMAGE...]   default: database-migration database-load order-food

Environment:
  IMAGE_TAG       the tag of every image (default: the workspace's package.json version)
  IMAGE_REGISTRY  a prefix for the names, e.g. ghcr.io/acme/ (default: none)
  EXTRA_TAGS      more tags, space-separated, e.g. EXTRA_TAGS="$(git rev-parse --short HEAD)"
  PUSH            true: push every tag after its build
  DOCKER          the docker command (default: docker); podman works too
  BUILD_FLAGS     more flags for every build, space-separated, e.g. "--network host"
                  (scripts/containers/prepare.sh adds a CA bundle mounted for build steps only)
EOF
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

all=(database-migration database-load order-food)
images=("$@")
[ ${#images[@]} -gt 0 ] || images=("${all[@]}")

docker_cmd=${DOCKER:-docker}
if ! command -v "$docker_cmd" >/dev/null 2>&1; then
  echo "build-images: '$docker_cmd' is not installed; install Docker (https://docs.docker.com/get-docker/) or set DOCKER" >&2
  exit 2
fi

read -r -a extra_tags <<<"${EXTRA_TAGS:-}"
read -r -a build_flags <<<"${BUILD_FLAGS:-}"
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)

version_of() {
  sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$1/package.json" | head -n 1
}

for image in "${images[@]}"; do
  case " ${all[*]} " in
    *" $image "*) ;;
    *)
      echo "build-images: unknown image '$image' (one of: ${all[*]})" >&2
      exit 2
      ;;
  esac
  version=$(version_of "$image")
  ref="${IMAGE_REGISTRY:-}$image"
  refs=("$ref:${IMAGE_TAG:-$version}")
  for extra in "${extra_tags[@]}"; do refs+=("$ref:$extra"); done
  tag_args=()
  for r in "${refs[@]}"; do tag_args+=(-t "$r"); done

  echo "== building ${refs[*]}"
  "$docker_cmd" build \
    ${build_flags[@]+"${build_flags[@]}"} \
    -f "$image/Dockerfile" \
    "${tag_args[@]}" \
    --build-arg "VERSION=$version" \
    --build-arg "GIT_REVISION=$revision" \
    .
  if [ "${PUSH:-false}" = true ]; then
    for r in "${refs[@]}"; do "$docker_cmd" push "$r"; done
  fi
done
