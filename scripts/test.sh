#!/usr/bin/env bash
# Runs every check and test of the workspace from a fresh machine: formatting, lints, unit,
# property, reference, store contract and fault tests against real Redis and MongoDB-wire
# servers (installed and started by scripts/services.sh), black-box CLI and HTTP tests, the
# term-sheet documents read back with poppler-utils (installed when missing), the web UI in
# headless Debian chromium under chromedriver (installed when missing) with its vendored
# libraries checked against their manifests, a scan for committed secrets (detect-secrets,
# tested on a scratch repository with planted keys), the Prometheus alert rules with their
# promtool unit tests, and a compile of the benchmarks.
# Usage: scripts/test.sh   (CI calls it through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi

echo "== format"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== secret scan"
# detect-secrets (PyPI, pinned) over every tracked file against the audited baseline, and
# its test: planted keys in a scratch repository are caught, the project passes.
bash scripts/secret_scan_test.sh

echo "== alert rules"
# promtool (Debian's prometheus package, installed when missing): the rules check, their
# unit tests, and every runbook link resolving to a heading of docs/runbooks/.
bash scripts/check_alerts.sh

echo "== services"
# shellcheck source=scripts/services.sh
source scripts/services.sh
services_up

echo "== document tools"
# poppler-utils (pdftotext, pdffonts, pdfinfo, pdftoppm) read the term-sheet PDFs back.
if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdffonts >/dev/null 2>&1; then
  apt_install poppler-utils
fi

echo "== browser"
# Debian's chromium and chromium-driver (one source package, matching versions) for the web UI
# tests; the vendored browser libraries must equal their manifests (and, with npm, the pinned
# packages).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt_install chromium chromium-driver
fi
bash scripts/vendor.sh --check

echo "== tests"
bash scripts/unleash_spec.sh
cargo test --workspace --locked --release

echo "== benchmarks compile"
cargo bench --workspace --locked --no-run

echo "== main job"
cargo run --release --locked --bin phase1 -- run fixtures/london-dc-alpha.json --json >/dev/null
cargo run --release --locked --bin phase1 -- rules --validate >/dev/null
echo "all checks passed"
