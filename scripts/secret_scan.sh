#!/usr/bin/env bash
# Secret scanning: fails when a git-tracked file holds a secret that .secrets.baseline does not
# list, or when the baseline lists a finding not audited as a false positive. The scanner is
# Yelp's detect-secrets from PyPI, pinned, installed when missing into a virtualenv under
# ${XDG_CACHE_HOME:-$HOME/.cache}/phase1/; the pre-commit hook in .pre-commit-config.yaml runs
# the same check on each commit.
#
#   scripts/secret_scan.sh [DIR]                    scan the tracked files of the git work tree
#                                                   DIR (default: this repository)
#   scripts/secret_scan.sh --update-baseline [DIR]  re-catalogue DIR's findings into
#                                                   DIR/.secrets.baseline, keeping earlier audit
#                                                   marks (it names the command that audits the
#                                                   new ones: `detect-secrets audit` of the
#                                                   virtualenv, run in DIR)
#
# Files are those of `git ls-files`, less those that the detect-secrets hook's `exclude` (and a
# top-level `exclude`) in DIR/.pre-commit-config.yaml leaves out, and less the baseline itself.
# A finding is reported as file, line and type, never with its value. The scan reads a copy of
# the baseline, so it leaves the work tree as it found it; when only the line numbers of
# baselined findings have moved it says so and passes.
set -euo pipefail

# Must equal the pin of the hook in .pre-commit-config.yaml (scripts/secret_scan_test.sh checks).
DETECT_SECRETS_VERSION="1.5.0"
PHASE1_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/phase1"
VENV="$PHASE1_CACHE/detect-secrets-$DETECT_SECRETS_VERSION"
HERE="$(cd "$(dirname "$0")" && pwd)"

fail() {
  echo "secret scan: $*" >&2
  exit 1
}

# Installs Debian packages with apt_install from scripts/services.sh.
debian() {
  # shellcheck source=scripts/services.sh
  source "$HERE/services.sh"
  apt_install "$@"
}

install_detect_secrets() {
  [[ -x "$VENV/bin/detect-secrets-hook" ]] && return
  echo "secret scan: installing detect-secrets $DETECT_SECRETS_VERSION into $VENV"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    debian python3-venv
    rm -rf "$VENV"
    python3 -m venv "$VENV" || fail "cannot create a virtualenv in $VENV"
  fi
  "$VENV/bin/pip" install -q "detect-secrets==$DETECT_SECRETS_VERSION" ||
    fail "cannot install detect-secrets $DETECT_SECRETS_VERSION from PyPI"
}

update=0
if [[ "${1:-}" == "--update-baseline" ]]; then
  update=1
  shift
fi
[[ $# -le 1 ]] || fail "usage: scripts/secret_scan.sh [--update-baseline] [DIR]"

command -v git >/dev/null 2>&1 || debian git
command -v python3 >/dev/null 2>&1 || debian python3 python3-venv
install_detect_secrets

dir="$(cd "${1:-$HERE/..}" && pwd -P)" || fail "no directory ${1:-}"
top="$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null)" || fail "$dir is not a git work tree"
[[ "$(cd "$top" && pwd -P)" == "$dir" ]] || fail "$dir is not the top of its git work tree ($top is)"
PY="$VENV/bin/python"

work="$(mktemp -d -t phase1-secret-scan.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$dir"

# The files to scan, NUL-separated, as pre-commit would pass them to the hook.
git ls-files -z >"$work/tracked"
"$PY" - "$work/tracked" "$work/files" <<'EOF'
import os, re, sys
import yaml

tracked = [p for p in open(sys.argv[1], "rb").read().decode().split("\0") if p]
top_exclude = hook_exclude = "^$"
hook_files = top_files = ""
if os.path.isfile(".pre-commit-config.yaml"):
    with open(".pre-commit-config.yaml") as f:
        config = yaml.safe_load(f) or {}
    top_exclude = config.get("exclude", top_exclude)
    top_files = config.get("files", top_files)
    for repo in config.get("repos", []):
        for hook in repo.get("hooks", []):
            if hook.get("id") == "detect-secrets":
                hook_exclude = hook.get("exclude", hook_exclude)
                hook_files = hook.get("files", hook_files)
keep = [
    p for p in tracked
    if p != ".secrets.baseline"
    and os.path.isfile(p)
    and re.search(top_files, p) and re.search(hook_files, p)
    and not re.search(top_exclude, p) and not re.search(hook_exclude, p)
]
with open(sys.argv[2], "wb") as f:
    f.write("".join(p + "\0" for p in keep).encode())
EOF
mapfile -d '' files <"$work/files"

if [[ "$update" == 1 ]]; then
  if [[ -f .secrets.baseline ]]; then
    "$VENV/bin/detect-secrets" scan --baseline .secrets.baseline "${files[@]}"
  else
    "$VENV/bin/detect-secrets" scan "${files[@]}" >"$work/new"
    mv "$work/new" .secrets.baseline
    # Once more with --baseline, which records its own filter settings: the file then has the
    # form that every later update keeps.
    "$VENV/bin/detect-secrets" scan --baseline .secrets.baseline "${files[@]}"
  fi
  echo "secret scan: wrote $dir/.secrets.baseline (${#files[@]} files scanned);" \
    "audit new findings with $VENV/bin/detect-secrets audit .secrets.baseline"
  exit 0
fi

[[ -f .secrets.baseline ]] ||
  fail "$dir has no .secrets.baseline (scripts/secret_scan.sh --update-baseline writes one)"
cp .secrets.baseline "$work/.secrets.baseline"

status=0
set +e
"$VENV/bin/detect-secrets-hook" --json --baseline "$work/.secrets.baseline" "${files[@]}" \
  >"$work/hook.out" 2>"$work/hook.err"
hook=$?
set -e

# Reports the hook's findings and the baseline's unaudited entries; the values are never read.
"$PY" - "$hook" "$work/hook.out" "$work/hook.err" .secrets.baseline <<'EOF' || status=1
import json, sys

code, out, err, baseline = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
failed = False
if code == 1:
    try:
        found = json.load(open(out))["results"]
    except (ValueError, KeyError):
        sys.stderr.write(open(err).read())
        print("secret scan: detect-secrets-hook failed (exit 1) without a report", file=sys.stderr)
        sys.exit(1)
    for path, secrets in sorted(found.items()):
        for s in secrets:
            print(f"{path}:{s['line_number']}: {s['type']} (not in .secrets.baseline)")
            failed = True
elif code == 3:
    print("secret scan: note: findings in .secrets.baseline have moved lines;"
          " scripts/secret_scan.sh --update-baseline refreshes them")
elif code != 0:
    sys.stderr.write(open(err).read())
    print(f"secret scan: detect-secrets-hook exited with {code}", file=sys.stderr)
    sys.exit(1)

for path, secrets in sorted(json.load(open(baseline)).get("results", {}).items()):
    for s in secrets:
        if s.get("is_secret") is not False:
            why = "marked as a real secret" if s.get("is_secret") else "not audited"
            print(f"{path}:{s['line_number']}: {s['type']} (in .secrets.baseline, {why})")
            failed = True
sys.exit(1 if failed else 0)
EOF

if [[ "$status" != 0 ]]; then
  echo "secret scan: FAILED in $dir. Remove each secret above from the tree (and rotate it if it" \
    "was ever pushed); a false positive is recorded with --update-baseline and then marked" \
    "with $VENV/bin/detect-secrets audit .secrets.baseline" >&2
  exit 1
fi
echo "secret scan: passed (${#files[@]} tracked files in $dir)"
