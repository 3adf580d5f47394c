#!/usr/bin/env bash
# Quick deploy to minikube: the three images into minikube's Docker, then one Helm release
# (database-migration -> database-load -> order-food). Safe to run again; a pod that never gets
# ready rolls the release back (--atomic) and exits 1. ./deploy.sh --help lists the settings.
set -euo pipefail
cd "$(dirname "$0")"

usage() {
  cat <<'EOF'
Usage: ./deploy.sh [extra helm flags, e.g. --set replicaCount=2]

Builds the three images into minikube's Docker and installs (or upgrades) the Helm release.

Environment:
  RELEASE           Helm release name (default: order-food)
  NAMESPACE         Kubernetes namespace (default: default)
  TIMEOUT           how long helm waits for ready pods (default: 10m)
  DEV_DEPENDENCIES  true (default): also run the chart's development PostgreSQL and Jaeger,
                    so a bare minikube is enough; false: bring your own (set secret.* values)
  SKIP_BUILD        true: deploy the images already in minikube's Docker
EOF
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

RELEASE=${RELEASE:-order-food}
NAMESPACE=${NAMESPACE:-default}
TIMEOUT=${TIMEOUT:-10m}
DEV_DEPENDENCIES=${DEV_DEPENDENCIES:-true}
SKIP_BUILD=${SKIP_BUILD:-false}
selector=app.kubernetes.io/name=order-food

fail() {
  echo "deploy.sh: $*" >&2
  exit 1
}

missing=()
for tool in minikube docker helm kubectl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deploy.sh: missing: ${missing[*]}. Install them first:" >&2
  echo "  minikube https://minikube.sigs.k8s.io/docs/start/  docker https://docs.docker.com/get-docker/" >&2
  echo "  helm https://helm.sh/docs/intro/install/  kubectl https://kubernetes.io/docs/tasks/tools/" >&2
  exit 2
fi

minikube status >/dev/null 2>&1 || fail "minikube is not running; start it with: minikube start"

version=$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' package.json | head -n 1)
[ -n "$version" ] || fail "cannot read the version from package.json"

if [ "$SKIP_BUILD" != true ]; then
  echo "== building the images into minikube's Docker (tag $version)"
  # Point docker at minikube's daemon: the pods then find the images without a registry.
  eval "$(minikube docker-env --shell bash)"
  IMAGE_TAG=$version bash scripts/build-images.sh
fi

# The images keep their tag across rebuilds: an annotation with their ids rolls the pods when an
# image changed, and leaves them alone when nothing did (so running this again changes nothing).
image_ids=""
for image in database-migration database-load order-food; do
  id=$(docker image inspect --format '{{.Id}}' "$image:$version" 2>/dev/null) ||
    fail "image $image:$version is not in minikube's Docker; run without SKIP_BUILD"
  image_ids+="$id"
done
images_digest=$(printf '%s' "$image_ids" | sha256sum | cut -c1-16)

helm_args=(
  upgrade --install "$RELEASE" ./order-food/helm
  --namespace "$NAMESPACE" --create-namespace
  --set image.pullPolicy=Never
  --set initContainers.databaseMigration.image.pullPolicy=Never
  --set initContainers.databaseLoad.image.pullPolicy=Never
  --set-string "image.tag=$version"
  --set-string "podAnnotations.order-food/images=$images_digest"
  --wait --timeout "$TIMEOUT" --atomic
)
if [ "$DEV_DEPENDENCIES" = true ]; then
  # The demo users (alice@example.com, admin@example.com) for the quick start; production gets the menu.
  helm_args+=(--set postgresql.enabled=true --set jaeger.enabled=true --set environment=development
    --set databaseLoad.dataSet.bundled=demo)
fi

echo "== helm ${helm_args[*]} $*"
if ! helm "${helm_args[@]}" "$@"; then
  echo "deploy.sh: the release did not become ready within $TIMEOUT and was rolled back." >&2
  echo "  Pods now:      kubectl get pods -n $NAMESPACE -l $selector" >&2
  echo "  Init logs:     kubectl logs -n $NAMESPACE -l $selector -c database-migration" >&2
  echo "                 kubectl logs -n $NAMESPACE -l $selector -c database-load" >&2
  echo "  Retry faster:  TIMEOUT=20m ./deploy.sh" >&2
  exit 1
fi

echo
echo "== pods"
kubectl get pods -n "$NAMESPACE" -l "$selector"
echo
echo "The API:     kubectl port-forward -n $NAMESPACE svc/order-food 8080:80"
echo "             curl http://localhost:8080/ready"
if [ "$DEV_DEPENDENCIES" = true ]; then
  echo "Jaeger UI:   kubectl port-forward -n $NAMESPACE svc/jaeger 16686:16686  (http://localhost:16686)"
fi
echo "Init logs:   kubectl logs -n $NAMESPACE -l $selector -c database-migration"
echo "Check:       helm test $RELEASE -n $NAMESPACE"
