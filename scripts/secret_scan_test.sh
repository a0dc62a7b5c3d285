#!/usr/bin/env bash
# Tests the secret scan (scripts/secret_scan.sh):
#   (a) in a scratch git repository holding the project's .secrets.baseline and
#       .pre-commit-config.yaml, a committed private key (made by openssl) and AWS access keys
#       (random, made here) fail the scan, which names both files and the kinds of secret and
#       never prints their values; baselined by --update-baseline but not yet audited, they
#       still fail; marked as false positives, they pass, also once moved to other lines, and
#       the scan leaves the work tree clean;
#   (b) the project itself passes, its baseline unchanged by the scan, and the scanner's
#       version is the same in the script, the pre-commit hook and the baseline.
# The keys exist only while the test runs: no secret-shaped text is kept in this repository.
# Usage: scripts/secret_scan_test.sh   (part of scripts/test.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SCAN="$ROOT/scripts/secret_scan.sh"

fail() {
  echo "secret scan test: FAILED: $*" >&2
  exit 1
}

if ! command -v openssl >/dev/null 2>&1 || ! command -v git >/dev/null 2>&1; then
  # shellcheck source=scripts/services.sh
  source "$ROOT/scripts/services.sh"
  apt_install openssl git
fi

SCRATCH="$(mktemp -d -t phase1-secret-scan-test.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT

# Runs the scan on $1 with its output in $SCRATCH/out; echoes the exit status.
scan() {
  local code=0
  bash "$SCAN" "$@" >"$SCRATCH/out" 2>&1 || code=$?
  echo "$code"
}

expect_in_output() {
  grep -qF -- "$1" "$SCRATCH/out" || {
    cat "$SCRATCH/out" >&2
    fail "$2: the scan's output does not contain '$1'"
  }
}

expect_not_in_output() {
  if grep -qF -- "$1" "$SCRATCH/out"; then
    fail "$2: the scan printed a secret value"
  fi
}

# ---- (b, first part) the pins agree
version="$(sed -n 's/^DETECT_SECRETS_VERSION="\(.*\)"$/\1/p' "$SCAN")"
[[ -n "$version" ]] || fail "no DETECT_SECRETS_VERSION in scripts/secret_scan.sh"
grep -qF "\"detect-secrets==$version\"" "$ROOT/.pre-commit-config.yaml" ||
  fail ".pre-commit-config.yaml does not pin detect-secrets==$version"
grep -qF "\"version\": \"$version\"" "$ROOT/.secrets.baseline" ||
  fail ".secrets.baseline was not written by detect-secrets $version"

# ---- (a) a scratch repository with planted keys
REPO="$SCRATCH/repo"
mkdir -p "$REPO/src" "$REPO/config" "$REPO/keys"
git_repo() {
  git -C "$REPO" -c user.name=secret-scan-test -c user.email=test@example.com \
    -c commit.gpgsign=false "$@"
}
git_repo init -q
cp "$ROOT/.secrets.baseline" "$ROOT/.pre-commit-config.yaml" "$REPO/"
printf 'pub fn add(a: u32, b: u32) -> u32 {\n    a + b\n}\n' >"$REPO/src/lib.rs"
git_repo add -A
git_repo commit -q -m "clean tree"

code="$(scan "$REPO")"
[[ "$code" == 0 ]] || {
  cat "$SCRATCH/out" >&2
  fail "(a) the scratch repository without keys does not pass (exit $code)"
}

# An AWS access key id (the four-letter prefix, then 16 random capitals and digits) and a
# secret access key (40 random base64 characters), and an Ed25519 private key in PEM.
key_id="$(python3 -c 'import secrets,string; a=string.ascii_uppercase+string.digits; print("AK"+"IA"+"".join(secrets.choice(a) for _ in range(16)))')"
key_secret="$(openssl rand -base64 30)"
printf 'REGION=eu-west-2\nAWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$key_id" "$key_secret" \
  >"$REPO/config/deploy.env"
openssl genpkey -algorithm ed25519 -out "$REPO/keys/signing.pem" 2>/dev/null ||
  fail "openssl cannot make a private key"
pem_body="$(sed -n 2p "$REPO/keys/signing.pem")"
git_repo add -A
git_repo commit -q -m "planted keys"

code="$(scan "$REPO")"
[[ "$code" != 0 ]] || {
  cat "$SCRATCH/out" >&2
  fail "(a) the scan passes a repository with a committed private key and AWS keys"
}
expect_in_output "config/deploy.env:2: AWS Access Key" "(a) planted AWS key"
expect_in_output "keys/signing.pem:1: Private Key" "(a) planted private key"
for value in "$key_id" "$key_secret" "$pem_body"; do
  expect_not_in_output "$value" "(a)"
done

# Catalogued by --update-baseline but not audited: still a failure.
bash "$SCAN" --update-baseline "$REPO" >"$SCRATCH/out" 2>&1 || {
  cat "$SCRATCH/out" >&2
  fail "(a) --update-baseline failed"
}
git_repo commit -q -am "baseline with the planted keys, unaudited"
code="$(scan "$REPO")"
[[ "$code" != 0 ]] || fail "(a) the scan passes secrets that the baseline lists unaudited"
expect_in_output "config/deploy.env:2: AWS Access Key (in .secrets.baseline, not audited)" \
  "(a) unaudited AWS key"
expect_in_output "keys/signing.pem:1: Private Key (in .secrets.baseline, not audited)" \
  "(a) unaudited private key"

# Audited as false positives: the scan passes and leaves the work tree as it was.
python3 - "$REPO/.secrets.baseline" <<'EOF'
import json, sys
path = sys.argv[1]
baseline = json.load(open(path))
for findings in baseline["results"].values():
    for finding in findings:
        finding["is_secret"] = False
open(path, "w").write(json.dumps(baseline, indent=2) + "\n")
EOF
git_repo commit -q -am "planted keys audited"
code="$(scan "$REPO")"
[[ "$code" == 0 ]] || {
  cat "$SCRATCH/out" >&2
  fail "(a) the scan fails findings audited as false positives (exit $code)"
}
# Moved down a line, they still pass, with a note; the baseline is not rewritten in place.
{ echo "# deployment settings"; cat "$REPO/config/deploy.env"; } >"$SCRATCH/deploy.env"
mv "$SCRATCH/deploy.env" "$REPO/config/deploy.env"
git_repo commit -q -am "a line above the audited keys"
code="$(scan "$REPO")"
[[ "$code" == 0 ]] || {
  cat "$SCRATCH/out" >&2
  fail "(a) the scan fails audited findings that moved lines (exit $code)"
}
expect_in_output "have moved lines" "(a) moved findings"
[[ -z "$(git_repo status --porcelain)" ]] || fail "(a) the scan modified the scratch work tree"
echo "secret scan test: (a) planted keys caught, named without their values; audited ones pass"

# ---- (b) the project as it is
# The baseline is the one file the scanner could rewrite; (a) checked the whole work tree.
before="$(sha256sum "$ROOT/.secrets.baseline")"
code="$(scan "$ROOT")"
[[ "$code" == 0 ]] || {
  cat "$SCRATCH/out" >&2
  fail "(b) the project does not pass its own secret scan (exit $code)"
}
[[ "$(sha256sum "$ROOT/.secrets.baseline")" == "$before" ]] ||
  fail "(b) the scan rewrote the project's .secrets.baseline"
echo "secret scan test: (b) $(tail -n 1 "$SCRATCH/out")"
echo "secret scan test: passed"
