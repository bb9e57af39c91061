#!/usr/bin/env bash
# The helm client the chart tests use (tests/integration/test_helm.py), built once from its Go
# module through the Go module proxy (no other download) and cached in .local/helm-<version>/.
#
# Usage: helm.sh path   build it if missing, print its path on stdout (last line)
#        helm.sh <args> build it if missing, run `helm <args>`
#
# Env: RESCUE_STATE_DIR (default <repo>/.local).
# The first build takes about 4 CPU-minutes (2 to 4 minutes on 2 idle cores); later calls find the
# binary and return at once.
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

# helm $HELM_VERSION's go.mod asks for Go 1.26. An older go (1.21 or later) switches to it by
# itself with GOTOOLCHAIN=auto (distributions often set local); without one (or Debian's 1.19),
# the toolchain is fetched the way go fetches it: module golang.org/toolchain of the proxy.
GO_TOOLCHAIN=go1.26.8
GOPROXY_URL=${GOPROXY_URL:-https://proxy.golang.org}

log() { printf 'helm.sh: %s\n' "$*" >&2; }

find_go() {
  local version
  version=$(go env GOVERSION 2>/dev/null || true)
  if [[ $version =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 21)); then
    GO=go
    return
  fi
  local arch module dir
  arch=$(uname -m)
  case $arch in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; esac
  module=v0.0.1-$GO_TOOLCHAIN.linux-$arch
  dir=$STATE_DIR/go-toolchain/$module
  if [[ ! -x $dir/bin/go ]]; then
    log "no Go 1.21 or later here ($version): fetching golang.org/toolchain@$module from $GOPROXY_URL"
    mkdir -p "$STATE_DIR/go-toolchain"
    curl -fsSL "$GOPROXY_URL/golang.org/toolchain/@v/$module.zip" -o "$dir.zip"
    # The zip holds golang.org/toolchain@<version>/...; zipfile keeps no modes: restore them.
    python3 -m zipfile -e "$dir.zip" "$dir.unzip"
    mv "$dir.unzip/golang.org/toolchain@$module" "$dir"
    rm -rf "$dir.zip" "$dir.unzip"
    chmod -R u+x "$dir/bin" "$dir/pkg/tool"
  fi
  GO=$dir/bin/go
}

build() {
  find_go
  log "building helm $HELM_VERSION from helm.sh/helm/v3 with $("$GO" env GOVERSION) (go install; once)"
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
  GOTOOLCHAIN=auto CGO_ENABLED=0 GOBIN=$BUILD_DIR "$GO" install -trimpath -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mkdir -p "$BIN_DIR"
  mv "$BUILD_DIR/helm" "$HELM"
  rm -rf "$BUILD_DIR"  # here too: `exec` below skips the EXIT trap
  trap - EXIT
  log "built $HELM in $((SECONDS - started)) s"
}

mkdir -p "$STATE_DIR"
[[ -x $HELM ]] || build
if [[ ${1:-path} == path ]]; then
  echo "$HELM"
else
  exec "$HELM" "$@"
fi
