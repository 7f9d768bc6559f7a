#!/usr/bin/env bash
# npm start: local services (infra/scripts/services.sh), a development JWT secret and data encryption
# key, then the app
# (infra/main.ts: migrations, API, projectors and workers on PORT, default 3000).
# npm run demo (ROOMLINE_DEMO=1): seeds demo data first (infra/demo/seed.ts).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

# shellcheck source=infra/scripts/services.sh
source "$ROOT/infra/scripts/services.sh"

log() { printf '[start] %s\n' "$*" >&2; }

# A development secret, made once and kept in the data directory (never committed: .data/ is ignored).
if [[ -z "${JWT_SECRET:-}" ]]; then
  secret_file="${DATA_DIR:-.data}/jwt-secret"
  if [[ ! -s "$secret_file" ]] || (($(wc -c <"$secret_file") < 32)); then
    mkdir -p "$(dirname "$secret_file")"
    (
      umask 077
      node -e "process.stdout.write(require('node:crypto').randomBytes(48).toString('base64url'))" >"$secret_file.tmp"
      mv "$secret_file.tmp" "$secret_file"
    )
    log "generated a development JWT secret in $secret_file (set JWT_SECRET to use your own)"
  fi
  chmod 600 "$secret_file"
  JWT_SECRET="$(<"$secret_file")"
  export JWT_SECRET
fi

# A development key-encryption key for personal data, made once beside the JWT secret. Unlike the JWT
# secret it is never replaced: every person's data key is wrapped with it, so a new one would make all
# stored personal data unreadable. A damaged file stops the start instead.
if [[ -z "${DATA_ENCRYPTION_KEY:-}" ]]; then
  key_file="${DATA_DIR:-.data}/data-encryption-key"
  if [[ ! -s "$key_file" ]]; then
    mkdir -p "$(dirname "$key_file")"
    (
      umask 077
      node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64'))" >"$key_file.tmp"
      mv "$key_file.tmp" "$key_file"
    )
    log "generated a development data encryption key in $key_file (set DATA_ENCRYPTION_KEY to use your own)"
  fi
  chmod 600 "$key_file"
  DATA_ENCRYPTION_KEY="$(<"$key_file")"
  if [[ ! "$DATA_ENCRYPTION_KEY" =~ ^[A-Za-z0-9+/]{43}=$ ]]; then
    log "$key_file is not base64 of 32 bytes; it is left alone (replacing it would make stored personal data unreadable)"
    exit 1
  fi
  export DATA_ENCRYPTION_KEY
fi

if [[ "${ROOMLINE_DEMO:-}" == 1 ]]; then
  if [[ -f infra/demo/seed.ts ]]; then
    log "seeding demo data (infra/demo/seed.ts)"
    node --import tsx infra/demo/seed.ts
  else
    log "infra/demo/seed.ts does not exist yet: demo data skipped"
  fi
fi

if [[ ! -f infra/main.ts ]]; then
  log "infra/main.ts does not exist yet: nothing to start"
  exit 1
fi
# node --import tsx (rather than npx tsx): the app is this very process, so a SIGTERM sent to
# `npm start` reaches it directly for a graceful shutdown instead of leaving it orphaned.
exec node --import tsx infra/main.ts
