#!/usr/bin/env bash
# Makes the services repwatch needs available and prints where they are, as shell assignments:
#   REDIS_URL=redis://127.0.0.1:6379
#   MONGODB_URI=mongodb://127.0.0.1:27027/
# Redis: REDIS_URL (default 127.0.0.1:6379); if nothing answers there, Debian's redis-server is started.
# MongoDB: when MONGODB_URI is set it is used as is. Otherwise FerretDB 1.24.2 (a MongoDB wire-protocol
# server) is built once into .local/bin and started with its SQLite handler on loopback, data in .local/.
#
# usage: scripts/services.sh [up|down|status]     (progress goes to stderr, the assignments to stdout)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
local_dir="$root/.local"
ferret_version="v1.24.2"
ferret_bin="$local_dir/bin/ferretdb"
ferret_port="${REPWATCH_FERRETDB_PORT:-27027}"
ferret_pidfile="$local_dir/ferretdb.pid"
ferret_log="$local_dir/ferretdb.log"
redis_url="${REDIS_URL:-redis://127.0.0.1:6379}"

say() { echo "services: $*" >&2; }
die() { echo "services: RW_ERR_SERVICES: $*" >&2; exit 1; }

redis_hostport() { # redis://[:pw@]host:port[/db] -> "host port"
  local rest="${redis_url#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"
  local host="${rest%%:*}" port="${rest##*:}"
  [ "$port" = "$rest" ] && port=6379
  echo "$host" "$port"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && { exec 3>&- 3<&-; return 0; }; return 1; }

ensure_redis() {
  read -r host port < <(redis_hostport)
  if port_open "$host" "$port"; then return 0; fi
  if [ -n "${REDIS_URL:-}" ] && [ "$host" != "127.0.0.1" ] && [ "$host" != "localhost" ]; then
    die "nothing answers at $host:$port (REDIS_URL); start that Redis or unset REDIS_URL"
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    say "installing Debian's redis-server"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >&2 || die "could not install redis-server"
  fi
  say "starting redis-server on $host:$port"
  mkdir -p "$local_dir/redis"
  redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no \
    --maxmemory-policy noeviction --dir "$local_dir/redis" --logfile "$local_dir/redis.log" >&2 || die "redis-server did not start"
  for _ in $(seq 1 50); do port_open "$host" "$port" && return 0; sleep 0.1; done
  die "redis-server did not answer on $host:$port; see $local_dir/redis.log"
}

# FerretDB 1.24.2's SQLite handler looks documents up by `_ferretdb_sjson->'$._id'` while its unique
# _id index is on `_ferretdb_sjson->"_id"`: SQLite does not match the two expressions, so every
# lookup, update and delete by _id scans the table (cost grows with the collection; the same class
# of bug as FerretDB/FerretDB#4646 for PostgreSQL). The build writes the lookup the way the index
# is written; the two are the same JSON path, so results do not change, only the query plan.
# A second patch (scripts/ferretdb/id-pushdown.patch) widens what goes to that index: upstream
# pushes down only a filter that is exactly `{_id: value}`, so `{_id: {$in: [...]}}` and
# `{_id: value, other: ...}` (a conditional update) scanned the table. The handler filters the rows
# again, so results cannot change.
# A third (scripts/ferretdb/atomic-updates.patch) makes update and findAndModify change a document
# atomically, as MongoDB does: upstream reads the document and writes it back as two steps, so of
# two concurrent updates of one document one was silently lost (a conditional update could also
# "win" twice). Each statement now holds its collection's lock from read to write, and closes its
# read when it ends instead of when the whole bulk ends (a bulk held a pooled connection per
# statement, and two large bulks took all 100).
ferret_patch="id-lookup-uses-index-1+id-pushdown-2+atomic-updates-3"

build_ferretdb() {
  [ -x "$ferret_bin" ] && "$ferret_bin" --version 2>/dev/null | grep -q "version: $ferret_version" \
    && [ "$(cat "$ferret_bin.patch" 2>/dev/null)" = "$ferret_patch" ] && return 0
  command -v go >/dev/null 2>&1 || die "Go is needed to build FerretDB once (no MONGODB_URI given)"
  say "building FerretDB $ferret_version once into .local/bin (takes a few minutes the first time)"
  # `go install ...@v1.24.2` stops on the module proxy's deprecation look-up here, and a build from the
  # module cache lacks the version file FerretDB's release process generates; so build from a copy.
  local src
  src="$(go mod download -json "github.com/FerretDB/FerretDB@$ferret_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$src" ] && [ -d "$src" ] || die "could not download github.com/FerretDB/FerretDB@$ferret_version"
  rm -rf "$local_dir/ferretdb-src" && mkdir -p "$local_dir/bin"
  cp -r "$src" "$local_dir/ferretdb-src" && chmod -R u+w "$local_dir/ferretdb-src"
  echo "$ferret_version" > "$local_dir/ferretdb-src/build/version/version.txt"
  local metadata="$local_dir/ferretdb-src/internal/backends/sqlite/metadata/metadata.go"
  sed -i "s|IDColumn = DefaultColumn + \"->'\\\$._id'\"|IDColumn = DefaultColumn + \"->'_id'\"|" "$metadata"
  grep -q "IDColumn = DefaultColumn + \"->'_id'\"" "$metadata" || die "could not patch FerretDB's _id lookup (see the comment above build_ferretdb)"
  patch -s -p1 -d "$local_dir/ferretdb-src" < "$root/scripts/ferretdb/id-pushdown.patch" || die "could not patch FerretDB's _id pushdown (scripts/ferretdb/id-pushdown.patch)"
  patch -s -p1 -d "$local_dir/ferretdb-src" < "$root/scripts/ferretdb/atomic-updates.patch" || die "could not patch FerretDB's updates (scripts/ferretdb/atomic-updates.patch)"
  (cd "$local_dir/ferretdb-src" && go build -trimpath -o "$ferret_bin" ./cmd/ferretdb) >&2 || die "FerretDB build failed"
  echo "$ferret_patch" > "$ferret_bin.patch"
  rm -rf "$local_dir/ferretdb-src"
}

ensure_ferretdb() {
  # Ours already running (another checkout may run its own on a neighbouring port).
  if [ -f "$ferret_pidfile" ] && kill -0 "$(cat "$ferret_pidfile")" 2>/dev/null && [ -f "$local_dir/ferretdb.port" ]; then
    if [ "$(cat "$ferret_bin.patch" 2>/dev/null)" = "$ferret_patch" ]; then
      ferret_port="$(cat "$local_dir/ferretdb.port")"
      port_open 127.0.0.1 "$ferret_port" && return 0
    else
      say "stopping our FerretDB: it was built before the current patch ($ferret_patch)"
      kill "$(cat "$ferret_pidfile")" 2>/dev/null || true
      rm -f "$ferret_pidfile" "$local_dir/ferretdb.port"
      sleep 1
    fi
  fi
  local tries=0
  while port_open 127.0.0.1 "$ferret_port"; do
    tries=$((tries + 1))
    [ "$tries" -le 20 ] || die "ports $((ferret_port - 20))-$ferret_port are all taken; set REPWATCH_FERRETDB_PORT or MONGODB_URI"
    ferret_port=$((ferret_port + 1))
  done
  build_ferretdb
  mkdir -p "$local_dir/ferretdb-data" "$local_dir/ferretdb-state"
  say "starting FerretDB $ferret_version on 127.0.0.1:$ferret_port (SQLite data in .local/ferretdb-data)"
  nohup "$ferret_bin" --handler=sqlite --sqlite-url="file:$local_dir/ferretdb-data/" \
    --listen-addr="127.0.0.1:$ferret_port" --telemetry=disable --state-dir="$local_dir/ferretdb-state" \
    --debug-addr=- --log-level=warn >"$ferret_log" 2>&1 </dev/null &
  echo $! > "$ferret_pidfile"
  echo "$ferret_port" > "$local_dir/ferretdb.port"
  for _ in $(seq 1 100); do port_open 127.0.0.1 "$ferret_port" && return 0; sleep 0.1; done
  die "FerretDB did not answer on 127.0.0.1:$ferret_port; see $ferret_log"
}

case "${1:-up}" in
  up)
    ensure_redis
    if [ -n "${MONGODB_URI:-}" ]; then mongo="$MONGODB_URI"; else ensure_ferretdb; mongo="mongodb://127.0.0.1:$ferret_port/"; fi
    echo "REDIS_URL=$redis_url"
    echo "MONGODB_URI=$mongo"
    ;;
  down)
    if [ -f "$ferret_pidfile" ]; then
      pid="$(cat "$ferret_pidfile")"
      kill "$pid" 2>/dev/null && say "stopped FerretDB (pid $pid)" || true
      rm -f "$ferret_pidfile" "$local_dir/ferretdb.port"
    fi
    ;;
  status)
    read -r host port < <(redis_hostport)
    port_open "$host" "$port" && say "redis: up at $host:$port" || say "redis: down at $host:$port"
    if [ -n "${MONGODB_URI:-}" ]; then say "mongodb: $MONGODB_URI (given)";
    elif [ -f "$ferret_pidfile" ] && kill -0 "$(cat "$ferret_pidfile")" 2>/dev/null; then say "mongodb: FerretDB up at 127.0.0.1:$(cat "$local_dir/ferretdb.port" 2>/dev/null)";
    else say "mongodb: FerretDB down"; fi
    ;;
  *) die "usage: scripts/services.sh [up|down|status]" ;;
esac
