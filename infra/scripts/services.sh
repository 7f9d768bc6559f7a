#!/usr/bin/env bash
# Local services for Roomline: PostgreSQL 15 + PostGIS 3 and Redis.
#
# Installs what is missing (as root, from Debian's packages), starts what is not running (without
# systemd), creates the database named in DATABASE_URL with the postgis extension, installs npm
# dependencies when needed, and exports DATABASE_URL and REDIS_URL.
#
#   bash infra/scripts/services.sh           check/start everything
#   source infra/scripts/services.sh         same, from another script; the exports stay set
#
# Environment:
#   DATABASE_URL   an existing PostgreSQL (with PostGIS available): only checked, nothing installed
#                  (default postgres://postgres:postgres@127.0.0.1:5432/roomline, the local cluster 15/main)
#   REDIS_URL      an existing Redis: only checked, nothing installed (default redis://127.0.0.1:6379)
#   SERVICES_WAIT_SECONDS  longest wait for a server to accept connections (default 30 for servers this
#                  script starts, 10 for servers given by URL)
#
# Idempotent: when everything is up, a run costs well under a second.

if [[ "${BASH_SOURCE[0]}" != "$0" && $- == *i* ]]; then
  echo "services.sh: run it as 'bash infra/scripts/services.sh' (sourced into an interactive shell, an error would close that shell)" >&2
  return 1
fi

set -euo pipefail

RL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RL_DEFAULT_DATABASE_URL='postgres://postgres:postgres@127.0.0.1:5432/roomline'
RL_DEFAULT_REDIS_URL='redis://127.0.0.1:6379'
RL_PG_VERSION=15
RL_PG_CLUSTER=main
RL_PG_PORT=5432
RL_REDIS_PORT=6379
RL_PG_PACKAGES=(postgresql-15 postgresql-15-postgis-3)
RL_REDIS_PACKAGES=(redis-server)
RL_APT_UPDATED="${RL_APT_UPDATED:-}"
RL_APT_LOG="${TMPDIR:-/tmp}/roomline-apt.log"

rl_log() { printf '[services] %s\n' "$*" >&2; }
# rl_hint LINE...: exits after a helper has printed the error itself, with what to do about it.
rl_hint() {
  printf '[services]   %s\n' "$@" >&2
  exit 1
}
# rl_die LINE...: the first line as the error, the others indented below it.
rl_die() {
  printf '[services] ERROR: %s\n' "$1" >&2
  shift
  if (($# > 0)); then printf '[services]   %s\n' "$@" >&2; fi
  exit 1
}
rl_is_root() { [[ $(id -u) -eq 0 ]]; }
# Hides the password of a URL in messages.
rl_mask() { sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$1"; }

# ---------------------------------------------------------------------------------------------------
# Node helper: talks to PostgreSQL and Redis with the project's own clients (pg, ioredis), so that a
# machine needs no psql or redis-cli to use servers given by URL.
#   pg-ensure URL      connect (retrying until RL_WAIT_MS), create the database if absent, then the
#                      postgis extension. Exit 10 unreachable, 11 authentication, 12 database creation,
#                      13 PostGIS not available on the server, 14 other error.
#   redis-ping URL     PING until RL_WAIT_MS. Exit 10 when it never answers.
#   db-url URL NAME    print URL with its database replaced by NAME.
# ---------------------------------------------------------------------------------------------------
read -r -d '' RL_NODE_HELPER <<'JS' || true
const [command, url, name] = process.argv.slice(1);
const deadline = Date.now() + Number(process.env.RL_WAIT_MS ?? 0);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mask = (u) => u.replace(/(:\/\/[^:/@]*:)[^@]*@/, '$1***@');
const say = (message) => process.stderr.write(`[services] ${message}\n`);
// RL_QUIET=1: the caller may fix the cause itself (the local default server), and asks again aloud if not.
const fail = (code, message) => {
  if (process.env.RL_QUIET !== '1') say(`ERROR: ${message}`);
  process.exit(code);
};
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE', '57P03']);
const isTransient = (e) => TRANSIENT.has(e?.code) || /timeout|terminated|Connection terminated/i.test(String(e?.message));
const isAuth = (e) => e?.code === '28P01' || e?.code === '28000';

function withDatabase(u, database) {
  const parsed = new URL(u);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

async function connect(u) {
  const { default: pg } = await import('pg');
  for (;;) {
    const client = new pg.Client({ connectionString: u, connectionTimeoutMillis: 3000 });
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (e) {
      await client.end().catch(() => {});
      if (isTransient(e) && Date.now() < deadline) {
        await sleep(300);
        continue;
      }
      throw e;
    }
  }
}

function explain(e, u) {
  if (isAuth(e)) fail(11, `PostgreSQL at ${mask(u)} refused the credentials: ${e.message}`);
  if (isTransient(e)) fail(10, `PostgreSQL at ${mask(u)} does not answer: ${e.code ?? ''} ${e.message}`.trim());
  fail(14, `PostgreSQL at ${mask(u)}: ${e.code ?? ''} ${e.message}`.trim());
}

async function pgEnsure(u) {
  const database = decodeURIComponent(new URL(u).pathname.replace(/^\//, ''));
  let client;
  try {
    client = await connect(u);
  } catch (e) {
    if (e?.code !== '3D000' || !database) explain(e, u);
    // The database does not exist yet: create it from the maintenance database of the same server.
    const admin = await connect(withDatabase(u, 'postgres'))
      .catch((e2) => (e2?.code === '3D000' ? connect(withDatabase(u, 'template1')) : Promise.reject(e2)))
      .catch((e2) => explain(e2, u));
    try {
      await admin.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
      say(`created database ${database}`);
    } catch (e2) {
      // 42P04 duplicate_database, 23505: a concurrent run created it first.
      if (e2?.code !== '42P04' && e2?.code !== '23505') fail(12, `could not create database ${database}: ${e2.message}`);
    } finally {
      await admin.end().catch(() => {});
    }
    client = await connect(u).catch((e2) => explain(e2, u));
  }
  try {
    const installed = await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'postgis'`);
    if (installed.rowCount === 0) {
      const available = await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'`);
      if (available.rowCount === 0) fail(13, `PostGIS is not available in the PostgreSQL server at ${mask(u)}`);
      try {
        await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
        say(`created extension postgis in ${database}`);
      } catch (e) {
        if (e?.code === '42501') fail(14, `the user of ${mask(u)} may not create the postgis extension (needs a superuser once: CREATE EXTENSION postgis)`);
        // 23505 / 42710: a concurrent run created it first.
        if (e?.code !== '23505' && e?.code !== '42710') throw e;
      }
    }
  } catch (e) {
    explain(e, u);
  } finally {
    await client.end().catch(() => {});
  }
}

async function redisPing(u) {
  const { Redis } = await import('ioredis');
  let last;
  do {
    const redis = new Redis(u, {
      lazyConnect: true,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    let emitted;
    redis.on('error', (e) => {
      emitted = e;
    });
    try {
      await redis.connect();
      const answer = await redis.ping();
      redis.disconnect();
      if (answer === 'PONG') return;
      last = new Error(`answered ${answer}`);
    } catch (e) {
      redis.disconnect();
      last = emitted && /Connection is closed/.test(String(e?.message)) ? emitted : e;
      if (/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(String(e?.message))) break;
    }
    await sleep(300);
  } while (Date.now() < deadline);
  fail(10, `Redis at ${mask(u)} does not answer PING: ${last?.message ?? 'no answer'}`);
}

try {
  if (command === 'pg-ensure') await pgEnsure(url);
  else if (command === 'redis-ping') await redisPing(url);
  else if (command === 'db-url') process.stdout.write(`${withDatabase(url, name)}\n`);
  else fail(14, `unknown helper command ${command}`);
} catch (e) {
  fail(14, e?.message ?? String(e));
}
JS

# rl_node WAIT_SECONDS COMMAND ARGS...
rl_node() {
  local wait="$1"
  shift
  (cd "$RL_ROOT" && RL_WAIT_MS=$((wait * 1000)) node --input-type=module -e "$RL_NODE_HELPER" -- "$@")
}

# ---------------------------------------------------------------------------------------------------
# npm dependencies
# ---------------------------------------------------------------------------------------------------
rl_ensure_node_modules() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    rl_die "Node.js 20 (or newer) and npm are needed: install them, then run this again."
  fi
  # npm writes node_modules/.package-lock.json on every install; it is node_modules' own timestamp.
  local stamp="$RL_ROOT/node_modules/.package-lock.json"
  if [[ ! -d "$RL_ROOT/node_modules" || ! -e "$stamp" || "$RL_ROOT/package-lock.json" -nt "$stamp" ]]; then
    rl_log "installing npm dependencies (npm ci)"
    (cd "$RL_ROOT" && npm ci --no-audit --no-fund) || rl_die "npm ci failed (see above)"
  fi
}

# ---------------------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------------------
rl_pkg_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

# Prints the packages of "$@" that dpkg does not know as installed (all of them without dpkg).
rl_missing_packages() {
  local pkg
  for pkg in "$@"; do
    if ! command -v dpkg-query >/dev/null 2>&1 || ! rl_pkg_installed "$pkg"; then printf '%s\n' "$pkg"; fi
  done
}

rl_die_not_root() {
  rl_die "Roomline needs PostgreSQL ${RL_PG_VERSION} with PostGIS 3 and Redis; missing here: $*" \
    "Either run this again as root (it installs them with apt-get), or install them yourself:" \
    "    sudo apt-get install -y $*" \
    "or point Roomline at servers you already have, e.g.:" \
    "    export DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/roomline   # PostgreSQL 15+ with PostGIS 3" \
    "    export REDIS_URL=redis://HOST:6379" \
    "and run the command again."
}

rl_apt_install() {
  rl_is_root || rl_die_not_root "$@"
  command -v apt-get >/dev/null 2>&1 ||
    rl_die "missing: $* -- and this is not a Debian/Ubuntu machine (no apt-get): install PostgreSQL ${RL_PG_VERSION} + PostGIS 3 and Redis, or set DATABASE_URL and REDIS_URL to servers you have."
  if [[ -z "$RL_APT_UPDATED" ]]; then
    rl_log "apt-get update"
    if ! apt-get update -q >"$RL_APT_LOG" 2>&1; then
      tail -n 30 "$RL_APT_LOG" >&2
      rl_die "apt-get update failed (above: the end of $RL_APT_LOG)"
    fi
    RL_APT_UPDATED=1
  fi
  rl_log "installing $* (apt-get; log in $RL_APT_LOG)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >"$RL_APT_LOG" 2>&1; then
    tail -n 30 "$RL_APT_LOG" >&2
    rl_die "apt-get install $* failed (above: the end of $RL_APT_LOG); or set DATABASE_URL and REDIS_URL to servers you have."
  fi
}

# ---------------------------------------------------------------------------------------------------
# Waiting
# ---------------------------------------------------------------------------------------------------
# shellcheck disable=SC2016 # $0 and $1 expand in the inner bash
rl_tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

# rl_wait SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds or time is up.
rl_wait() {
  local seconds="$1" what="$2"
  shift 2
  local end=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < end)) || return 1
    sleep 0.2
  done
  [[ -n "$what" ]] && rl_log "$what"
  return 0
}

# ---------------------------------------------------------------------------------------------------
# PostgreSQL (local cluster 15/main on 127.0.0.1:5432)
# ---------------------------------------------------------------------------------------------------
rl_pg_local_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p "$RL_PG_PORT" -t 2 >/dev/null 2>&1
  else
    rl_tcp_open 127.0.0.1 "$RL_PG_PORT"
  fi
}

rl_pg_local_start() {
  rl_pg_local_up && return 0
  local cluster="$RL_PG_VERSION/$RL_PG_CLUSTER" log="/var/log/postgresql/postgresql-$RL_PG_VERSION-$RL_PG_CLUSTER.log"
  rl_is_root ||
    rl_die "PostgreSQL is installed but does not accept connections on 127.0.0.1:$RL_PG_PORT, and starting it needs root:" \
      "    sudo pg_ctlcluster $RL_PG_VERSION $RL_PG_CLUSTER start" \
      "or set DATABASE_URL to a PostgreSQL server you have."
  command -v pg_lsclusters >/dev/null 2>&1 || rl_die "pg_lsclusters not found: is postgresql-common installed?"
  local line
  line="$(pg_lsclusters -h "$RL_PG_VERSION" "$RL_PG_CLUSTER" 2>/dev/null || true)"
  if [[ -z "$line" ]]; then
    rl_log "creating PostgreSQL cluster $cluster on port $RL_PG_PORT"
    pg_createcluster "$RL_PG_VERSION" "$RL_PG_CLUSTER" --port "$RL_PG_PORT" >/dev/null || rl_die "pg_createcluster $RL_PG_VERSION $RL_PG_CLUSTER failed"
    line="$(pg_lsclusters -h "$RL_PG_VERSION" "$RL_PG_CLUSTER")"
  fi
  local port
  port="$(awk '{print $3}' <<<"$line")"
  [[ "$port" == "$RL_PG_PORT" ]] ||
    rl_die "PostgreSQL cluster $cluster is set to port $port, not $RL_PG_PORT: set DATABASE_URL=postgres://postgres:postgres@127.0.0.1:$port/roomline (after giving the postgres role that password), or move the cluster to port $RL_PG_PORT."
  # /var/run is a tmpfs on many machines: the socket directory may be gone after a reboot.
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  if ! pg_ctlcluster "$RL_PG_VERSION" "$RL_PG_CLUSTER" status >/dev/null 2>&1; then
    rl_log "starting PostgreSQL $cluster"
    pg_ctlcluster "$RL_PG_VERSION" "$RL_PG_CLUSTER" start || rl_die "could not start PostgreSQL $cluster; see $log"
  fi
  rl_wait "$RL_WAIT" "PostgreSQL $cluster accepts connections on 127.0.0.1:$RL_PG_PORT" rl_pg_local_up ||
    rl_die "PostgreSQL $cluster did not accept connections on 127.0.0.1:$RL_PG_PORT within ${RL_WAIT}s; see $log"
}

# Gives the local postgres role the password of the default URL (peer authentication as postgres).
rl_pg_local_set_password() {
  rl_is_root ||
    rl_die "PostgreSQL on 127.0.0.1:$RL_PG_PORT refused postgres/postgres. As root, run once:" \
      "    su postgres -c \"psql -c \\\"ALTER ROLE postgres PASSWORD 'postgres'\\\"\"" \
      "or set DATABASE_URL with the credentials of your server."
  rl_log "setting the password of the postgres role for TCP connections"
  (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$RL_PG_PORT" -d postgres \
    -c "ALTER ROLE postgres WITH PASSWORD 'postgres'") >/dev/null ||
    rl_die "could not set the password of the postgres role"
}

# rl_ensure_database URL: the database of URL exists and has postgis. For the local default server,
# fixes the postgres password and installs PostGIS when needed (quietly: what it can fix is no error);
# for a server given by URL, only explains.
rl_ensure_database() {
  local url="$1" rc=0 wait="$RL_WAIT_GIVEN"
  if [[ "$RL_PG_LOCAL" == 1 ]]; then
    wait=5
    RL_QUIET=1 rl_node "$wait" pg-ensure "$url" || rc=$?
    if [[ $rc -eq 11 ]]; then
      rl_pg_local_set_password
      rc=0
      RL_QUIET=1 rl_node "$wait" pg-ensure "$url" || rc=$?
    fi
    if [[ $rc -eq 13 ]] && command -v dpkg-query >/dev/null 2>&1; then
      local missing
      missing="$(rl_missing_packages postgresql-15-postgis-3)"
      if [[ -n "$missing" ]]; then
        rl_apt_install "$missing"
        rc=0
        RL_QUIET=1 rl_node "$wait" pg-ensure "$url" || rc=$?
      fi
    fi
    # Still failing: once more, aloud, for the message.
    if [[ $rc -ne 0 ]]; then
      rc=0
      rl_node "$wait" pg-ensure "$url" || rc=$?
    fi
  else
    rl_node "$wait" pg-ensure "$url" || rc=$?
  fi
  case "$rc" in
  0) ;;
  10) rl_hint "start that server, or set DATABASE_URL to one that runs (unset: the local default, installed and started here)" ;;
  11) rl_hint "set DATABASE_URL with the right user and password" ;;
  13) rl_hint "install PostGIS 3 for that server (Debian: postgresql-<version>-postgis-3), or set DATABASE_URL to a server that has it" ;;
  *) rl_hint "set DATABASE_URL to a PostgreSQL 15+ server with PostGIS 3 where this user may create the database" ;;
  esac
}

# rl_database_url_named URL NAME: URL with its database replaced by NAME.
rl_database_url_named() { rl_node 0 db-url "$1" "$2"; }

# ---------------------------------------------------------------------------------------------------
# Redis (local, 127.0.0.1:6379)
# ---------------------------------------------------------------------------------------------------
rl_redis_local_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$RL_REDIS_PORT" ping 2>/dev/null)" == PONG ]]
  else
    # shellcheck disable=SC2016 # $0 and $line expand in the inner bash
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "PING\r\n" >&3 && IFS= read -r line <&3 && [[ $line == "+PONG"* ]]' \
      "$RL_REDIS_PORT" 2>/dev/null
  fi
}

rl_redis_local_start() {
  rl_redis_local_ping && return 0
  if rl_tcp_open 127.0.0.1 "$RL_REDIS_PORT"; then
    # Give a Redis that is still loading a moment before deciding it is something else.
    rl_wait 5 "" rl_redis_local_ping && return 0
    rl_die "something listens on 127.0.0.1:$RL_REDIS_PORT but does not answer PING (a Redis with a password?): set REDIS_URL, e.g. redis://:PASSWORD@127.0.0.1:$RL_REDIS_PORT"
  fi
  command -v redis-server >/dev/null 2>&1 || rl_die "redis-server not found after installation"
  local args=(--daemonize yes --bind 127.0.0.1 --port "$RL_REDIS_PORT" --save '' --appendonly no) log
  rl_log "starting Redis on 127.0.0.1:$RL_REDIS_PORT"
  if rl_is_root && id redis >/dev/null 2>&1; then
    install -d -o redis -g redis /var/lib/redis /var/log/redis
    log=/var/log/redis/redis-server.log
    (cd / && runuser -u redis -- redis-server "${args[@]}" --dir /var/lib/redis --logfile "$log") ||
      rl_die "could not start redis-server; see $log"
  else
    mkdir -p "$RL_ROOT/.data/redis"
    log="$RL_ROOT/.data/redis/redis-server.log"
    redis-server "${args[@]}" --dir "$RL_ROOT/.data/redis" --logfile "$log" || rl_die "could not start redis-server; see $log"
  fi
  rl_wait "$RL_WAIT" "Redis answers on 127.0.0.1:$RL_REDIS_PORT" rl_redis_local_ping ||
    rl_die "Redis did not answer on 127.0.0.1:$RL_REDIS_PORT within ${RL_WAIT}s; see $log"
}

# ---------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------
rl_services_main() {
  RL_WAIT="${SERVICES_WAIT_SECONDS:-30}"
  RL_WAIT_GIVEN="${SERVICES_WAIT_SECONDS:-10}"
  RL_PG_LOCAL=0
  RL_REDIS_LOCAL=0
  [[ -z "${DATABASE_URL:-}" ]] && RL_PG_LOCAL=1
  [[ -z "${REDIS_URL:-}" ]] && RL_REDIS_LOCAL=1
  DATABASE_URL="${DATABASE_URL:-$RL_DEFAULT_DATABASE_URL}"
  REDIS_URL="${REDIS_URL:-$RL_DEFAULT_REDIS_URL}"
  export DATABASE_URL REDIS_URL

  rl_ensure_node_modules

  # Install what is missing, all in one apt-get call (or one message when not root). A server that
  # already answers is used as it is, however it was installed.
  local missing=()
  if [[ "$RL_PG_LOCAL" == 1 ]] && ! rl_pg_local_up; then
    mapfile -t -O "${#missing[@]}" missing < <(rl_missing_packages "${RL_PG_PACKAGES[@]}")
  fi
  if [[ "$RL_REDIS_LOCAL" == 1 ]] && ! rl_redis_local_ping; then
    mapfile -t -O "${#missing[@]}" missing < <(rl_missing_packages "${RL_REDIS_PACKAGES[@]}")
  fi
  if ((${#missing[@]} > 0)); then
    rl_apt_install "${missing[@]}"
  fi

  if [[ "$RL_PG_LOCAL" == 1 ]]; then rl_pg_local_start; fi
  if [[ "$RL_REDIS_LOCAL" == 1 ]]; then
    rl_redis_local_start
  else
    rl_node "$RL_WAIT_GIVEN" redis-ping "$REDIS_URL" || rl_hint "start that server, or set REDIS_URL to one that runs (unset: the local default, installed and started here)"
  fi
  rl_ensure_database "$DATABASE_URL"

  rl_log "ready: DATABASE_URL=$(rl_mask "$DATABASE_URL") REDIS_URL=$(rl_mask "$REDIS_URL")"
}

rl_services_main
