#!/usr/bin/env bash
# Copies the pinned browser libraries of package.json into the tree, with their licences and
# a SHA-256 manifest, so that nothing is fetched at build or run time.
#
#   scripts/vendor.sh           npm ci into a scratch folder, copy the files, write the manifests
#   scripts/vendor.sh --check   verify the committed copies against their manifests (offline);
#                               with npm on the machine, also that they equal the pinned packages
set -euo pipefail
cd "$(dirname "$0")/.."

# package file → committed copy
FILES=(
  "chart.js/dist/chart.umd.min.js public/vendor/chart-4.6.1.umd.min.js"
  "chart.js/LICENSE.md public/vendor/chart.js.LICENSE.md"
  "chartjs-plugin-annotation/dist/chartjs-plugin-annotation.min.js public/vendor/chartjs-plugin-annotation-3.1.0.min.js"
  "chartjs-plugin-annotation/LICENSE.md public/vendor/chartjs-plugin-annotation.LICENSE.md"
  "qrcode-generator/dist/qrcode.mjs public/vendor/qrcode-generator-2.0.4.mjs"
  "axe-core/axe.min.js tests/vendor/axe-4.14.1.min.js"
  "axe-core/LICENSE tests/vendor/axe-core.LICENSE"
  "axe-core/LICENSE-3RD-PARTY.txt tests/vendor/axe-core.LICENSE-3RD-PARTY.txt"
)
MANIFESTS=(public/vendor/SHA256SUMS tests/vendor/SHA256SUMS)

check_manifests() {
  for m in "${MANIFESTS[@]}"; do
    (cd "$(dirname "$m")" && sha256sum --quiet -c SHA256SUMS) || {
      echo "vendored files in $(dirname "$m") differ from $m; run scripts/vendor.sh" >&2
      return 1
    }
  done
}

fetch() {
  local scratch=$1
  cp package.json package-lock.json "$scratch/"
  (cd "$scratch" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
}

if [[ "${1:-}" == "--check" ]]; then
  check_manifests
  if command -v npm >/dev/null 2>&1; then
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    fetch "$scratch"
    for pair in "${FILES[@]}"; do
      read -r from to <<<"$pair"
      cmp -s "$scratch/node_modules/$from" "$to" || {
        echo "$to is not $from of the pinned package; run scripts/vendor.sh" >&2
        exit 1
      }
    done
  fi
  echo "vendored libraries match their manifests"
  exit 0
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [[ ! -f package-lock.json ]]; then
  cp package.json "$scratch/"
  (cd "$scratch" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$scratch/package-lock.json" package-lock.json
  rm -rf "$scratch/node_modules"
fi
fetch "$scratch"
for pair in "${FILES[@]}"; do
  read -r from to <<<"$pair"
  mkdir -p "$(dirname "$to")"
  cp "$scratch/node_modules/$from" "$to"
done
for m in "${MANIFESTS[@]}"; do
  (cd "$(dirname "$m")" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | sort | xargs sha256sum >SHA256SUMS)
done
check_manifests
echo "vendored: ${#FILES[@]} files"
