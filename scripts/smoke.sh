#!/usr/bin/env bash
# Smoke test of a Phase-1 deployment: the public probes (/health with its build headers,
# liveness, version, readiness, route list), a sign-in when credentials are given (password,
# then the current TOTP code, then /api/auth/me), and a small run with its export and its term
# sheet (PDF and Markdown) when there is a session or an ops token. Prints one row per check
# (check, status, HTTP code, time in ms, detail: for a failure, the problem's code and the
# response's X-Request-ID, to find its log lines), then "N passed, M failed" (and ", K
# skipped" when some checks could not run).
#
#   scripts/smoke.sh BASE_URL [--admin-token T] [--email E --password P --totp-secret S]
#                    [--timeout SECONDS]
#
#   BASE_URL       e.g. https://phase1.example.com or http://127.0.0.1:3000
#   --admin-token  an ops token (X-Admin-Token): the run is made with it when no person signs in
#   --email, --password, --totp-secret
#                  a person's credentials (all three or none); the TOTP secret is the base32
#                  `secret=` of the otpauth:// URI printed by `phase1 admin create-user` (the
#                  whole URI is accepted too); the run is then made as that person
#   --timeout      the limit of each request in seconds (default 60)
#
# The secrets may come from the environment instead of the command line (where other users
# of the machine can see them): SMOKE_ADMIN_TOKEN, SMOKE_EMAIL, SMOKE_PASSWORD,
# SMOKE_TOTP_SECRET. With neither a token nor credentials, the authenticated checks are
# skipped (and the output says so).
#
# Exit status: 0 when every check that ran passed, 1 when any failed, 2 on bad arguments.
# Tokens, passwords, the TOTP secret and codes are never printed: they travel to curl in
# files of a private temporary directory (removed on exit), never on its command line, and
# xtrace is switched off. A TOTP code is accepted once: a second run within the same 30 s
# step waits for the next step (the last step used is kept, hashed with the email, in
# ${XDG_CACHE_HOME:-$HOME/.cache}/phase1/smoke-totp-steps).
# Needs curl and python3 (installed from Debian's packages when missing).
{ set +x; } 2>/dev/null
set -euo pipefail

usage() {
  echo "usage:"
  sed -n '\|^#   scripts/smoke.sh|,\|^#   --timeout|p' "$0" | sed 's/^# \{0,1\}//'
}

bad_usage() {
  echo "smoke: $*" >&2
  usage >&2
  exit 2
}

base_url=""
admin_token="${SMOKE_ADMIN_TOKEN:-}"
email="${SMOKE_EMAIL:-}"
password="${SMOKE_PASSWORD:-}"
totp_secret="${SMOKE_TOTP_SECRET:-}"
timeout=60

while [ $# -gt 0 ]; do
  opt="$1"
  case "$opt" in
    -h | --help)
      usage
      exit 0
      ;;
    --admin-token=* | --email=* | --password=* | --totp-secret=* | --timeout=*)
      value="${opt#*=}"
      opt="${opt%%=*}"
      shift
      ;;
    --admin-token | --email | --password | --totp-secret | --timeout)
      [ $# -ge 2 ] || bad_usage "$opt needs a value"
      value="$2"
      shift 2
      ;;
    -*)
      bad_usage "unknown option $opt"
      ;;
    *)
      [ -z "$base_url" ] || bad_usage "one BASE_URL only"
      base_url="$opt"
      shift
      continue
      ;;
  esac
  case "$opt" in
    --admin-token) admin_token="$value" ;;
    --email) email="$value" ;;
    --password) password="$value" ;;
    --totp-secret) totp_secret="$value" ;;
    --timeout) timeout="$value" ;;
  esac
done
unset value

[ -n "$base_url" ] || bad_usage "BASE_URL is missing"
[[ "$base_url" =~ ^https?://[^[:space:]/?#]+(/[^[:space:]?#]*)?$ ]] ||
  bad_usage "BASE_URL must be an http:// or https:// URL without query or spaces"
while [[ "$base_url" == */ ]]; do base_url="${base_url%/}"; done
[[ "$timeout" =~ ^[1-9][0-9]{0,3}$ ]] || bad_usage "--timeout must be a whole number of seconds (1-9999)"

have_credentials=0
if [ -n "$email$password$totp_secret" ]; then
  if [ -z "$email" ] || [ -z "$password" ] || [ -z "$totp_secret" ]; then
    bad_usage "--email, --password and --totp-secret go together"
  fi
  have_credentials=1
fi
nl=$'\n'
cr=$'\r'
for v in "$admin_token" "$email" "$password" "$totp_secret"; do
  [[ "$v" != *"$nl"* && "$v" != *"$cr"* ]] || bad_usage "a credential contains a line break"
done
unset v

if ! command -v curl >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
  services="$(dirname "$0")/services.sh"
  [ -f "$services" ] || {
    echo "smoke: curl and python3 are required" >&2
    exit 1
  }
  # shellcheck source=scripts/services.sh
  source "$services"
  command -v curl >/dev/null 2>&1 || apt_install curl
  command -v python3 >/dev/null 2>&1 || apt_install python3
fi

umask 077
work="$(mktemp -d -t phase1-smoke.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# The JSON and TOTP work, in one Python program: `python3 -c "$py" MODE ARGS...`.
# check modes print "PASS<TAB>detail" or "FAIL<TAB>detail" (and, for run, a third field:
# the run id); secrets are read from stdin and written only to files.
py=$(
  cat <<'PYTHON'
import base64, hashlib, hmac, json, os, re, struct, sys, time, urllib.parse

def headers(path):
    """The last header block of curl's -D file, names lower-cased."""
    try:
        raw = open(path, "rb").read().decode("latin-1")
    except OSError:
        return {}
    blocks = [b for b in re.split(r"\r?\n\r?\n", raw) if b.strip()]
    out = {}
    for line in (blocks[-1].splitlines()[1:] if blocks else []):
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out

def body(path):
    try:
        return open(path, "rb").read()
    except OSError:
        return b""

def as_json(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return None

def short(text, n=110):
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"

def problem(code, raw):
    """A failure's detail from its answer: the problem's code and detail, else the body."""
    doc = as_json(raw)
    if isinstance(doc, dict) and ("code" in doc or "title" in doc):
        what = doc.get("code") or doc.get("title")
        return short(f"HTTP {code} {what}: {doc.get('detail') or doc.get('title') or ''}")
    text = raw[:200].decode("utf-8", "replace")
    return short(f"HTTP {code}: {text}" if text.strip() else f"HTTP {code}, empty body")

def norm(path):
    return re.sub(r"\{[^}]*\}", "{}", path)

def totp_secret():
    s = sys.stdin.read().strip()
    if s.startswith("otpauth://"):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(s).query)
        s = (q.get("secret") or [""])[0]
    s = s.replace(" ", "").upper()
    try:
        key = base64.b32decode(s + "=" * (-len(s) % 8))
    except ValueError:
        key = b""
    if not key:
        sys.exit("the TOTP secret is not base32 (nor an otpauth:// URI with a secret)")
    return s, key

def totp(key, step):
    """RFC 6238 (RFC 4226 with the 30 s step as counter): HMAC-SHA1, 6 digits."""
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off : off + 4])[0] & 0x7FFFFFFF) % 1_000_000)

def fresh_step(email, secret):
    """The current step, after waiting for the next one when this run's last sign-in as the
    same person already used it (the server accepts each step's code once)."""
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "phase1")
    state = os.path.join(cache, "smoke-totp-steps")
    key = hashlib.sha256(f"phase1-smoke\n{email.lower()}\n{secret}".encode()).hexdigest()[:16]
    last = {}
    try:
        for line in open(state):
            k, _, v = line.partition(" ")
            if v.strip().isdigit():
                last[k] = int(v)
    except OSError:
        pass
    step = int(time.time()) // 30
    if step <= last.get(key, -1):
        wait = (last[key] + 1) * 30 - time.time()
        print(f"smoke: this person's TOTP code of this 30 s step was used; waiting {wait:.0f} s for the next", file=sys.stderr)
        time.sleep(max(wait, 0) + 0.2)
        step = int(time.time()) // 30
    last[key] = step
    try:
        os.makedirs(cache, exist_ok=True)
        with open(state + ".tmp", "w") as f:
            f.writelines(f"{k} {v}\n" for k, v in last.items() if v >= step - 10)
        os.replace(state + ".tmp", state)
    except OSError:
        pass
    return step

def main():
    mode, args = sys.argv[1], sys.argv[2:]

    if mode == "login-body":  # stdin: email, password (one a line)
        email, password = sys.stdin.read().split("\n", 1)
        print(json.dumps({"email": email, "password": password}))
        return

    if mode == "secret-ok":  # stdin: the TOTP secret; exits 1 when it is not one
        totp_secret()
        return

    if mode == "mfa-body":  # stdin: the TOTP secret; args: login body file, email
        doc = as_json(body(args[0])) or {}
        token = doc.get("mfa_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            sys.exit("the login answer has no mfa_token")
        secret, key = totp_secret()
        code = totp(key, fresh_step(args[1], secret))
        print(json.dumps({"mfa_token": token, "code": code}))
        return

    # check modes: args = HTTP code, headers file, body file, extra...
    code, hfile, bfile, extra = args[0], args[1], args[2], args[3:]
    h, raw = headers(hfile), body(bfile)
    doc = as_json(raw)
    ok = lambda d: print(f"PASS\t{short(d)}")
    fail = lambda d: print(f"FAIL\t{short(d)}")

    if mode == "health":
        if code != "200" or not isinstance(doc, dict):
            return fail(problem(code, raw))
        missing = [n for n in ("X-Commit-SHA", "X-Build-ID") if not h.get(n.lower())]
        bad = [k for k, c in (doc.get("components") or {}).items() if isinstance(c, dict) and c.get("status") != "ok"]
        if doc.get("status") != "ok" or bad:
            return fail(f"status {doc.get('status')}; not ok: {', '.join(bad) or '-'}")
        if missing:
            return fail(f"header {' and '.join(missing)} missing")
        return ok(f"ok; version {doc.get('version')}, commit {h['x-commit-sha']}, build {h['x-build-id']}")

    if mode == "healthz":
        if code == "200" and isinstance(doc, dict) and doc.get("status") == "ok":
            return ok("ok")
        return fail(problem(code, raw))

    if mode == "version":
        if code != "200" or not isinstance(doc, dict):
            return fail(problem(code, raw))
        need = [k for k in ("version", "commit_sha", "ruleset_version", "ruleset_hash") if not doc.get(k)]
        if need:
            return fail(f"no {', '.join(need)} in the answer")
        return ok(f"{doc['version']}, commit {doc['commit_sha']}, ruleset {doc['ruleset_version']} ({str(doc['ruleset_hash'])[:12]})")

    if mode == "readyz":
        comps = (doc or {}).get("components") if isinstance(doc, dict) else None
        if code == "200" and isinstance(doc, dict) and doc.get("status") == "ready":
            return ok("ready: " + ", ".join(f"{k} {c.get('status')}" for k, c in (comps or {}).items() if isinstance(c, dict)))
        if isinstance(comps, dict):
            bad = [f"{k} {c.get('status')}" + (f" ({c['error']})" if c.get("error") else "")
                   for k, c in comps.items() if isinstance(c, dict) and c.get("status") != "ok"]
            return fail(f"HTTP {code} {doc.get('status')}: " + ("; ".join(bad) or "no component down"))
        return fail(problem(code, raw))

    if mode == "route-list":
        if code != "200" or not isinstance(doc, dict) or not isinstance(doc.get("routes"), list):
            return fail(problem(code, raw))
        have = {(r.get("method"), norm(r.get("path", ""))) for r in doc["routes"] if isinstance(r, dict)}
        need = [("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/health"), ("GET", "/api/phase1/health"),
                ("GET", "/api/phase1/version"), ("POST", "/api/auth/login"), ("POST", "/api/auth/mfa"),
                ("GET", "/api/auth/me"), ("POST", "/api/phase1/run"),
                ("GET", "/api/phase1/securitisation/export/{}")]
        lost = [f"{m} {p}" for m, p in need if (m, p) not in have]
        if not any(m == "GET" and p.startswith("/api/phase1/runs/{}/structures/{}/") for m, p in have):
            lost.append("GET /api/phase1/runs/{run_id}/structures/{rank}/term-sheet")
        if lost:
            return fail("not listed: " + ", ".join(lost))
        return ok(f"{len(doc['routes'])} routes, the smoke test's among them")

    if mode == "login":
        if code == "200" and isinstance(doc, dict) and doc.get("mfa_token"):
            return ok("password accepted; MFA step")
        return fail(problem(code, raw))

    if mode == "mfa":  # extra: the session header file to write
        if code == "200" and isinstance(doc, dict) and isinstance(doc.get("access_token"), str) and doc["access_token"]:
            with open(extra[0], "w") as f:
                f.write(f"Authorization: Bearer {doc['access_token']}\n")
            return ok(f"session for role {doc.get('role')}, {doc.get('expires_in')} s")
        return fail(problem(code, raw))

    if mode == "me":  # extra: the email signed in with
        if code != "200" or not isinstance(doc, dict):
            return fail(problem(code, raw))
        if str(doc.get("email", "")).lower() != extra[0].lower():
            return fail(f"signed in as {doc.get('email')}, not {extra[0].lower()}")
        flags = doc.get("flags") or {}
        off = [k for k, v in flags.items() if v is not True]
        return ok(f"{doc['email']} ({doc.get('role')}); flags off: {', '.join(off) or 'none'}")

    if mode in ("run", "run-poll"):
        if mode == "run" and code == "202" and isinstance(doc, dict) and doc.get("run_id"):
            return print(f"WAIT\tqueued\t{doc['run_id']}")
        if code != "200" or not isinstance(doc, dict):
            return fail(problem(code, raw))
        if mode == "run-poll":
            if doc.get("status") in ("queued", "running"):
                return print(f"WAIT\t{doc['status']} {doc.get('progress_pct', '')}%\t{doc.get('run_id')}")
            if doc.get("status") != "done":
                return fail(f"run {doc.get('status')}: " + problem(doc.get("error", {}).get("status", "-"), json.dumps(doc.get("error") or {}).encode()))
            doc = dict(doc.get("result") or {}, run_id=doc.get("run_id"), status="done")
        run_id, top = doc.get("run_id"), doc.get("top")
        if doc.get("status") != "done" or not isinstance(run_id, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,128}", run_id):
            return fail(f"status {doc.get('status')}, run_id {run_id!r}")
        if not isinstance(top, list) or not top:
            return fail(f"run {run_id} has no structures")
        stats = doc.get("stats") or {}
        cached = " (cached)" if (doc.get("provenance") or {}).get("cached") else ""
        evaluated = stats.get("evaluated", "?")
        detail = short(f"run {run_id}: {len(top)} structures of {evaluated} evaluated{cached}")
        print(f"PASS\t{detail}\t{run_id}")
        return

    if mode == "export":  # extra: run id
        if code != "200" or not isinstance(doc, dict):
            return fail(problem(code, raw))
        if doc.get("run_id") != extra[0] or doc.get("rank") != 1 or not isinstance(doc.get("structure"), dict):
            return fail(f"export of run {doc.get('run_id')} rank {doc.get('rank')}, expected run {extra[0]} rank 1")
        rating = (doc.get("rating") or {}).get("effective")
        rules = doc.get("rules")
        return ok(f"rank 1, rating {rating}, {len(rules) if isinstance(rules, list) else '?'} rule results")

    if mode == "pdf":
        if code == "200" and raw.startswith(b"%PDF"):
            return ok(f"{raw[:8].decode('latin-1').strip()}, {len(raw)} bytes")
        if code == "200":
            return fail(f"not a PDF ({h.get('content-type', 'no content type')}, starts {raw[:8]!r})")
        return fail(problem(code, raw))

    if mode == "md":
        text = raw.decode("utf-8", "replace")
        if code == "200" and text.startswith("# ") and "markdown" in h.get("content-type", ""):
            return ok(f"{text.splitlines()[0][2:]!r}, {len(raw)} bytes")
        if code == "200":
            return fail(f"not Markdown ({h.get('content-type', 'no content type')}, starts {text[:20]!r})")
        return fail(problem(code, raw))

    sys.exit(f"unknown mode {mode}")

main()
PYTHON
)

if [ "$have_credentials" = 1 ] && ! printf '%s' "$totp_secret" | python3 -c "$py" secret-ok 2>/dev/null; then
  bad_usage "--totp-secret is neither a base32 secret nor an otpauth:// URI with one"
fi

# Strings never to print, should one reach an error message anyway.
secrets=()
for v in "$admin_token" "$password" "$totp_secret"; do
  [ -z "$v" ] || secrets+=("$v")
done
unset v

redact() {
  local text="$1" s
  for s in "${secrets[@]}"; do
    text="${text//"$s"/***}"
  done
  printf '%s' "$text"
}

shown_url="$base_url"
if [[ "$shown_url" =~ ^(https?://)[^/@]*@(.*)$ ]]; then
  shown_url="${BASH_REMATCH[1]}***@${BASH_REMATCH[2]}"
fi
rid_prefix="smoke-$(printf '%04x%04x' "$RANDOM" "$RANDOM")"
seq_no=0
passed=0
failed=0
skipped=0

row() { # check status http ms detail
  printf '%-16s %-4s %4s %7s  %s\n' "$1" "$2" "$3" "$4" "$(redact "$5")"
  case "$2" in
    PASS) passed=$((passed + 1)) ;;
    FAIL) failed=$((failed + 1)) ;;
    SKIP) skipped=$((skipped + 1)) ;;
  esac
}

# request PATH [AUTH_HEADER_FILE] [JSON_BODY_FILE]: one request; sets http (000 when there was
# no answer), ms, rid_text (the answer's X-Request-ID, else the one sent) and cerr (curl's
# error).
# Each request sends its own X-Request-ID (smoke-<run tag>-<n>), which the server keeps.
request() {
  local path="$1" auth="${2:-}" data="${3:-}" out="" rc=0 sent
  seq_no=$((seq_no + 1))
  sent="$rid_prefix-$seq_no"
  local -a args=(-sS --max-time "$timeout" -o "$work/body" -D "$work/headers"
    -w '%{http_code} %{time_total}' -H "X-Request-ID: $sent")
  [ -z "$auth" ] || args+=(-H "@$auth")
  [ -z "$data" ] || args+=(-H 'Content-Type: application/json' --data-binary "@$data")
  : >"$work/body"
  : >"$work/headers"
  out="$(curl "${args[@]}" "$base_url$path" 2>"$work/curl.err")" || rc=$?
  http="${out%% *}"
  [[ "$http" =~ ^[0-9]{3}$ ]] || http="000"
  local t="${out#* }" whole frac
  t="${t//,/.}"
  if [[ "$t" =~ ^([0-9]+)\.([0-9]+)$ ]]; then
    whole="${BASH_REMATCH[1]}"
    frac="${BASH_REMATCH[2]}000"
    ms=$((10#$whole * 1000 + 10#${frac:0:3}))
  else
    ms="-"
  fi
  local rid
  rid="$(tr -d '\r' <"$work/headers" | sed -n 's/^x-request-id: *//Ip' | tail -n 1)"
  cerr=""
  if [ "$rc" -ne 0 ]; then
    cerr="$(head -c 300 "$work/curl.err" | tr '\n' ' ')"
    cerr="${cerr% }"
    cerr="${cerr:-curl exit $rc}"
  fi
  if [ -n "$rid" ]; then
    rid_text="X-Request-ID: $rid"
  else
    rid_text="X-Request-ID sent: $sent"
  fi
}

# check NAME MODE [EXTRA...]: evaluates the last request; sets result (PASS/FAIL/WAIT) and
# extra_out (the third field, e.g. the run id); prints the row unless the result is WAIT.
check() {
  local name="$1" mode="$2" line detail
  shift 2
  if [ "$http" = "000" ]; then
    result="FAIL"
    extra_out=""
    row "$name" FAIL "-" "$ms" "no answer: ${cerr:-empty reply} ($rid_text)"
    return
  fi
  line="$(python3 -c "$py" "$mode" "$http" "$work/headers" "$work/body" "$@" 2>&1)" ||
    line=$'FAIL\tcannot evaluate the answer: '"${line//$'\n'/ }"
  IFS=$'\t' read -r result detail extra_out <<<"$line"
  case "$result" in
    PASS) row "$name" PASS "$http" "$ms" "$detail" ;;
    WAIT) ;;
    *)
      result="FAIL"
      row "$name" FAIL "$http" "$ms" "$detail ($rid_text)"
      ;;
  esac
}

printf 'Phase-1 smoke test of %s\n' "$shown_url"
printf '%-16s %-4s %4s %7s  %s\n' CHECK STAT HTTP MS DETAIL

request /health
check health health
request /healthz
check healthz healthz
request /api/phase1/version
check version version
request /readyz
check readyz readyz
request /api/phase1/route-list
check route-list route-list

# Sign-in: password, then the current TOTP code, then whoami with the session.
auth_file=""
auth_note=""
if [ "$have_credentials" = 1 ]; then
  printf '%s\n%s' "$email" "$password" | python3 -c "$py" login-body >"$work/login.json"
  request /api/auth/login "" "$work/login.json"
  check login login
  if [ "$result" = PASS ]; then
    cp "$work/body" "$work/login.answer"
    if mfa_err="$(printf '%s' "$totp_secret" |
      python3 -c "$py" mfa-body "$work/login.answer" "$email" 2>&1 >"$work/mfa.json")"; then
      request /api/auth/mfa "" "$work/mfa.json"
      check mfa mfa "$work/session.h"
    else
      row mfa FAIL "-" "-" "${mfa_err//$'\n'/ }"
    fi
    rm -f "$work/login.answer" "$work/mfa.json"
  else
    row mfa SKIP "-" "-" "login failed"
  fi
  rm -f "$work/login.json"
  if [ -s "$work/session.h" ]; then
    request /api/auth/me "$work/session.h"
    check me me "$email"
    auth_file="$work/session.h"
    auth_note="as ${email,,}"
  else
    row me SKIP "-" "-" "no session"
  fi
else
  for name in login mfa me; do
    row "$name" SKIP "-" "-" "no --email/--password/--totp-secret"
  done
  if [ -n "$admin_token" ]; then
    printf 'X-Admin-Token: %s\n' "$admin_token" >"$work/admin.h"
    auth_file="$work/admin.h"
    auth_note="with the ops token"
  fi
fi

# A small run, its export and its term sheet.
if [ -n "$auth_file" ]; then
  printf '{"fixture":"small"}' >"$work/run.json"
  request /api/phase1/run "$auth_file" "$work/run.json"
  run_ms="$ms"
  check run run
  run_id=""
  if [ "$result" = WAIT ]; then
    # Queued (202): poll the run until it is done, within the time limit.
    run_id="$extra_out"
    deadline=$((SECONDS + timeout))
    while [ "$result" = WAIT ] && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 1
      request "/api/phase1/runs/$run_id" "$auth_file"
      [ "$ms" = "-" ] || [ "$run_ms" = "-" ] || run_ms=$((run_ms + ms + 1000))
      ms="$run_ms"
      check run run-poll
    done
    if [ "$result" = WAIT ]; then
      row run FAIL "$http" "$run_ms" "run $run_id still not done after ${timeout} s ($rid_text)"
    fi
  fi
  if [ "$result" = PASS ]; then
    run_id="$extra_out"
    request "/api/phase1/securitisation/export/1?run_id=$run_id" "$auth_file"
    check export export "$run_id"
    request "/api/phase1/runs/$run_id/structures/1/term-sheet.pdf" "$auth_file"
    check term-sheet.pdf pdf
    request "/api/phase1/runs/$run_id/structures/1/term-sheet.md" "$auth_file"
    check term-sheet.md md
  else
    for name in export term-sheet.pdf term-sheet.md; do
      row "$name" SKIP "-" "-" "no run"
    done
  fi
elif [ "$have_credentials" = 1 ]; then
  for name in run export term-sheet.pdf term-sheet.md; do
    row "$name" SKIP "-" "-" "no session (sign-in failed)"
  done
else
  for name in run export term-sheet.pdf term-sheet.md; do
    row "$name" SKIP "-" "-" "no --admin-token and no credentials"
  done
fi

echo
[ -z "$auth_note" ] || echo "authenticated checks made $auth_note"
if [ -z "$auth_file" ] && [ "$have_credentials" = 0 ]; then
  echo "authenticated checks skipped: give --admin-token T, or --email E --password P --totp-secret S"
fi
summary="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
