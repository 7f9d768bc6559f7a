#!/usr/bin/env bash
# npm test: local services, a test database (roomline_test on the same server), then type check,
# lint and the vitest suite, stopping at the first failure. Extra arguments go to vitest:
#   npm test -- test/infra          npm test -- -t "double booking"
# TEST_DATABASE_URL, when set, is used as the test database instead of roomline_test.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

# shellcheck source=infra/scripts/services.sh
source "$ROOT/infra/scripts/services.sh"

step() { printf '\n==> %s\n' "$*"; }

test_database_url="${TEST_DATABASE_URL:-$(rl_database_url_named "$DATABASE_URL" roomline_test)}"
rl_ensure_database "$test_database_url"
export DATABASE_URL="$test_database_url"
# A fixed, test-only signing key (40 characters); never used outside tests.
export JWT_SECRET="${JWT_SECRET:-roomline-test-only-jwt-secret-0123456789}"
# A fixed, test-only key-encryption key (base64 of "roomline-test-only-data-key-0001"); never used outside tests.
export DATA_ENCRYPTION_KEY="${DATA_ENCRYPTION_KEY:-cm9vbWxpbmUtdGVzdC1vbmx5LWRhdGEta2V5LTAwMDE=}"

step "type check: tsc --noEmit -p tsconfig.json"
npx tsc --noEmit -p tsconfig.json

step "lint: biome check ."
npx biome check .

step "tests: vitest run $*"
npx vitest run "$@"
