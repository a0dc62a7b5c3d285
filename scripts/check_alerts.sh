#!/usr/bin/env bash
# Checks the Prometheus alert rules of deploy/prometheus/: `promtool check rules` on
# alerts.yaml, the unit tests of alerts_test.yaml with `promtool test rules`, and that every
# alert has a severity, a summary, a description and a runbook_url, each runbook_url naming a
# runbook under docs/runbooks/ that exists and, when it has an anchor (#...), a Markdown
# heading whose GitHub slug is that anchor. promtool comes from Debian's prometheus package,
# installed (without its recommended node exporter) when missing; a Prometheus server the
# package's install starts is stopped again.
#
#   scripts/check_alerts.sh [--runbooks DIR]
#
# DIR (or PHASE1_RUNBOOKS_DIR) stands for docs/runbooks/ in the runbook links; default: the
# repository's docs/runbooks. Exits non-zero, naming each failure, when any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

RULES=deploy/prometheus/alerts.yaml
TESTS=deploy/prometheus/alerts_test.yaml
RUNBOOKS_DIR="${PHASE1_RUNBOOKS_DIR:-docs/runbooks}"

while [ $# -gt 0 ]; do
  case "$1" in
    --runbooks)
      [ $# -ge 2 ] || { echo "check_alerts: --runbooks needs a directory" >&2; exit 2; }
      RUNBOOKS_DIR="$2"
      shift 2
      ;;
    -h | --help)
      sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "check_alerts: unknown argument $1 (usage: scripts/check_alerts.sh [--runbooks DIR])" >&2
      exit 2
      ;;
  esac
done

# shellcheck source=scripts/services.sh
source scripts/services.sh

# Stops (and, under systemd, disables) a Prometheus server that installing the package started.
_stop_packaged_server() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -d /run/systemd/system ] && systemctl is-active --quiet prometheus 2>/dev/null; then
    echo "check_alerts: stopping the prometheus service the package started"
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 ||
      { echo "check_alerts: cannot stop the prometheus service" >&2; exit 1; }
  elif [ -x /etc/init.d/prometheus ] && /etc/init.d/prometheus status >/dev/null 2>&1; then
    echo "check_alerts: stopping the prometheus server the package started"
    $sudo /etc/init.d/prometheus stop >/dev/null 2>&1 ||
      { echo "check_alerts: cannot stop the prometheus server" >&2; exit 1; }
  fi
}

if ! command -v promtool >/dev/null 2>&1; then
  apt_install --no-install-recommends prometheus
  command -v promtool >/dev/null 2>&1 ||
    { echo "check_alerts: promtool is still missing after installing prometheus" >&2; exit 1; }
  _stop_packaged_server
fi

failed=()

echo "== promtool check rules $RULES"
promtool check rules "$RULES" || failed+=("promtool check rules $RULES")

echo "== promtool test rules $TESTS"
promtool test rules "$TESTS" || failed+=("promtool test rules $TESTS")

echo "== alert annotations and runbook links (runbooks: $RUNBOOKS_DIR)"
# A line-based read of the rules (no YAML library needed): each `- alert:` opens a rule, and
# its severity, summary, description and runbook_url lines follow before the next rule.
python3 - "$RULES" "$RUNBOOKS_DIR" <<'PY' || failed+=("annotations and runbook links")
import os
import re
import sys

rules_path, runbooks_dir = sys.argv[1], sys.argv[2]
PREFIX = "docs/runbooks/"
REQUIRED = ("severity", "summary", "description", "runbook_url")


def unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        v = v[1:-1]
    return v


def read_rules(path):
    alerts, current = [], None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        m = re.match(r"\s*-\s+(alert|record|name):\s*(.*?)\s*$", line)
        if m:
            current = {"name": unquote(m.group(2)), "line": n} if m.group(1) == "alert" else None
            if current is not None:
                alerts.append(current)
            continue
        m = re.match(r"\s*(severity|summary|description|runbook_url):\s*(.*?)\s*$", line)
        if m and current is not None:
            current[m.group(1)] = unquote(m.group(2))
    return alerts


def slug(text):
    """GitHub's anchor for a heading: the rendered text, lower-cased, with everything but
    letters, digits, underscores, hyphens and spaces removed, and spaces made hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path):
    found, seen, fence = set(), {}, None
    for line in open(path, encoding="utf-8"):
        m = re.match(r" {0,3}(`{3,}|~{3,})", line)
        if m:
            if fence is None:
                fence = m.group(1)[0] * 3
            elif m.group(1).startswith(fence):
                fence = None
            continue
        if fence is not None:
            continue
        for a in re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", line):
            found.add(a)
        m = re.match(r" {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$", line.rstrip("\n"))
        if not m:
            continue
        base = slug(m.group(1) or "")
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


problems = []
alerts = read_rules(rules_path)
if not alerts:
    problems.append(f"{rules_path}: no alerts found")
cache = {}
for a in alerts:
    where = f"{rules_path}:{a['line']} {a['name']}"
    missing = [k for k in REQUIRED if not a.get(k)]
    if missing:
        problems.append(f"{where}: no {', '.join(missing)}")
    url = a.get("runbook_url")
    if not url:
        continue
    path, _, anchor = url.partition("#")
    if not path.startswith(PREFIX) or ".." in path.split("/"):
        problems.append(f"{where}: runbook_url {url} is not a file under {PREFIX}")
        continue
    file = os.path.join(runbooks_dir, path[len(PREFIX):])
    if not os.path.isfile(file):
        problems.append(f"{where}: runbook_url {url}: {file} does not exist")
        continue
    if anchor:
        if file not in cache:
            cache[file] = anchors(file)
        if anchor not in cache[file]:
            problems.append(f"{where}: runbook_url {url}: {file} has no heading #{anchor}")

for p in problems:
    print(f"check_alerts: {p}", file=sys.stderr)
if problems:
    sys.exit(1)
print(f"{len(alerts)} alerts, each with severity, summary, description and a runbook that exists")
PY

if [ ${#failed[@]} -gt 0 ]; then
  printf 'check_alerts: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "alert rules: all checks passed"
