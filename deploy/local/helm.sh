#!/usr/bin/env bash
# The helm client the chart tests use (tests/integration/test_helm.py), built once from its Go
# module through the Go module proxy (no other download) and cached under .local/bin.
#
# Usage: helm.sh path   build it if missing, print its path on stdout (last line)
#        helm.sh <args> build it if missing, run `helm <args>`
#
# Env: RESCUE_STATE_DIR (default <repo>/.local).
# The first build takes a few minutes on 2 cores; later calls find the binary and return at once.
set -euo pipefail

HELM_VERSION=v3.22.0
# What helm's own Makefile stamps into a release: its version, and the Kubernetes version it
# renders for (`.Capabilities.KubeVersion`, checked against Chart.yaml's kubeVersion) from the
# client-go it is built with (v0.37 -> 1.37). Without them the binary says v1.20.
KUBE_VERSION_MAJOR=1
KUBE_VERSION_MINOR=37
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd)
STATE_DIR=${RESCUE_STATE_DIR:-$REPO_ROOT/.local}
# One directory per version: `go install` names the binary `helm`, the version is in the path.
BIN_DIR=$STATE_DIR/helm-$HELM_VERSION
HELM=$BIN_DIR/helm

log() { printf 'helm.sh: %s\n' "$*" >&2; }

build() {
  command -v go >/dev/null || { log "ERROR: Go is needed to build helm (apt-get install golang)"; exit 1; }
  log "building helm $HELM_VERSION from helm.sh/helm/v3 (go install; once)"
  local started=$SECONDS
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.metadata="
  local package
  for package in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $package.k8sVersionMajor=$KUBE_VERSION_MAJOR"
    ldflags+=" -X $package.k8sVersionMinor=$KUBE_VERSION_MINOR"
  done
  # Built into a scratch directory and moved: an interrupted build never leaves a half binary.
  BUILD_DIR=$(mktemp -d "$STATE_DIR/helm-build.XXXXXX")
  trap 'rm -rf "$BUILD_DIR"' EXIT
  # CGO off: a static binary, no C toolchain needed.
  CGO_ENABLED=0 GOBIN=$BUILD_DIR go install -trimpath -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mkdir -p "$BIN_DIR"
  mv "$BUILD_DIR/helm" "$HELM"
  log "built $HELM in $((SECONDS - started)) s"
}

mkdir -p "$STATE_DIR"
[[ -x $HELM ]] || build
if [[ ${1:-path} == path ]]; then
  echo "$HELM"
else
  exec "$HELM" "$@"
fi
