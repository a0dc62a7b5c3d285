#!/usr/bin/env bash
# Real servers for the store tests: Debian's redis-server and SecantusDB (a MongoDB-wire
# server from PyPI), each on a free loopback port with a throwaway data directory.
#
#   source scripts/services.sh
#   services_up      # installs what is missing, starts both, exports MONGODB_URI, REDIS_URL,
#                    # REDIS_SERVER_BIN and SECANTUSD_BIN (for the fault tests)
#   services_down    # stops both and removes their data (also run on EXIT by services_up)
#
# Anything that cannot be installed or started stops the script with an error: the store
# tests are never skipped.

SECANTUSDB_VERSION="${SECANTUSDB_VERSION:-0.7.0b3}"
PHASE1_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/phase1"

_services_fail() {
  echo "services: $*" >&2
  exit 1
}

_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Installs Debian packages (as root, or through sudo).
apt_install() {
  echo "installing $* from Debian's packages"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq || _services_fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null ||
    _services_fail "cannot install $*"
}

_install_redis() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return
  fi
  apt_install redis-server
  command -v redis-server >/dev/null 2>&1 || _services_fail "redis-server is still missing"
}

_install_secantusdb() {
  local venv="$PHASE1_CACHE/secantusdb-$SECANTUSDB_VERSION"
  if [ ! -x "$venv/bin/secantusd-py" ]; then
    echo "services: installing SecantusDB $SECANTUSDB_VERSION into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" || _services_fail "cannot create a virtualenv (python3-venv missing?)"
    "$venv/bin/pip" install -q "secantusdb==$SECANTUSDB_VERSION" ||
      _services_fail "cannot install SecantusDB from PyPI"
  fi
  SECANTUSD_BIN="$venv/bin/secantusd-py"
  SECANTUS_PYTHON="$venv/bin/python"
  export SECANTUSD_BIN SECANTUS_PYTHON
}

_wait_for() {
  local what="$1" tries=0
  shift
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -le 100 ] || _services_fail "$what did not come up (see $SERVICES_DIR)"
    sleep 0.2
  done
}

services_up() {
  _install_redis
  _install_secantusdb
  SERVICES_DIR="$(mktemp -d -t phase1-services.XXXXXX)"
  export SERVICES_DIR
  trap services_down EXIT

  local redis_port mongo_port
  redis_port="$(_free_port)"
  REDIS_SERVER_BIN="$(command -v redis-server)"
  export REDIS_SERVER_BIN
  "$REDIS_SERVER_BIN" --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$SERVICES_DIR" --logfile "$SERVICES_DIR/redis.log" &
  REDIS_PID=$!
  _wait_for "redis-server" redis-cli -p "$redis_port" ping

  mongo_port="$(_free_port)"
  "$SECANTUSD_BIN" --host 127.0.0.1 --port "$mongo_port" --storage-path "$SERVICES_DIR/secantus" \
    --log-level WARNING >"$SERVICES_DIR/secantus.log" 2>&1 &
  SECANTUS_PID=$!
  _wait_for "SecantusDB" "$SECANTUS_PYTHON" -c "import pymongo,sys; pymongo.MongoClient('mongodb://127.0.0.1:$mongo_port/?directConnection=true', serverSelectionTimeoutMS=500).admin.command('ping')"

  export REDIS_URL="redis://127.0.0.1:$redis_port"
  export MONGODB_URI="mongodb://127.0.0.1:$mongo_port/?directConnection=true"
  echo "services: redis at $REDIS_URL, SecantusDB at $MONGODB_URI"
}

services_down() {
  [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  [ -n "${SECANTUS_PID:-}" ] && kill "$SECANTUS_PID" 2>/dev/null && wait "$SECANTUS_PID" 2>/dev/null
  [ -n "${SERVICES_DIR:-}" ] && rm -rf "$SERVICES_DIR"
  REDIS_PID="" SECANTUS_PID="" SERVICES_DIR=""
  return 0
}
