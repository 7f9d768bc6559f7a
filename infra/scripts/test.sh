#!/usr/bin/env bash
# npm test: local services, a test database (roomline_test on the same server), then type check,
# lint and the vitest suite, stopping at the first failure. Extra arguments go to vitest:
#   npm test -- test/infra          npm test -- -t "double booking"
#   TEST_FAKETIME=+400d npm test -- test/http   (the tests alone, a year ahead)
# TEST_DATABASE_URL, when set, is used as the test database instead of roomline_test.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

# shellcheck source=infra/scripts/services.sh
source "$ROOT/infra/scripts/services.sh"

step() { printf '\n==> %s\n' "$*"; }

# Tests that must not share the machine run after the others, one file at a time: the projection crash test loads
# both cores for a minute (a real projector killed and caught up, over and over), and the liveness test measures
# /health/live under 50 ms while the warehouse works, which another test file's load alone can break.
ALONE=(test/reliability/projectionCrash.test.ts test/http/analyticsLiveness.test.ts)

# run_vitest PREFIX... -- ARGS...: vitest with ARGS (filters, as vitest takes them: a file path contains one), the
# ALONE files among them excluded, then each of those alone. PREFIX is what runs vitest (faketime, or nothing).
run_vitest() {
  local prefix=() args=() exclude=() alone=() file arg
  while [ "$1" != "--" ]; do prefix+=("$1"); shift; done
  shift
  args=("$@")
  for file in "${ALONE[@]}"; do
    exclude+=(--exclude "$file")
    if [ ${#args[@]} -eq 0 ]; then alone+=("$file"); continue; fi
    for arg in "${args[@]}"; do
      case "$arg" in -*) continue ;; esac
      case "$file" in *"$arg"*) alone+=("$file"); break ;; esac
    done
  done
  step "tests: vitest run ${args[*]} (without ${ALONE[*]})"
  "${prefix[@]}" npx vitest run --passWithNoTests "${exclude[@]}" "${args[@]}"
  for file in "${alone[@]}"; do
    step "tests that run alone: vitest run $file"
    "${prefix[@]}" npx vitest run "$file"
  done
}

test_database_url="${TEST_DATABASE_URL:-$(rl_database_url_named "$DATABASE_URL" roomline_test)}"
rl_ensure_database "$test_database_url"
export DATABASE_URL="$test_database_url"
# A fixed, test-only signing key (40 characters); never used outside tests.
export JWT_SECRET="${JWT_SECRET:-roomline-test-only-jwt-secret-0123456789}"
# A fixed, test-only key-encryption key (base64 of "roomline-test-only-data-key-0001"); never used outside tests.
export DATA_ENCRYPTION_KEY="${DATA_ENCRYPTION_KEY:-cm9vbWxpbmUtdGVzdC1vbmx5LWRhdGEta2V5LTAwMDE=}"

# TEST_FAKETIME=+400d: the tests alone, with the clock moved (Debian's faketime fakes this process tree's
# clock, not PostgreSQL's): what proves that no test and no query depends on today's date.
if [ -n "${TEST_FAKETIME:-}" ]; then
  if ! command -v faketime >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      apt-get install -y -qq faketime >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq faketime >/dev/null; }
    else
      echo "TEST_FAKETIME needs faketime: sudo apt-get install -y faketime" >&2
      exit 1
    fi
  fi
  step "tests under faketime $TEST_FAKETIME"
  run_vitest env FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$TEST_FAKETIME" -- "$@"
  exit 0
fi

# test/pages drives Debian's Chromium headless (puppeteer-core, which downloads no browser of its own).
if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM_PATH:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    step "installing chromium (apt-get) for test/pages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
  else
    echo "test/pages needs Chromium: sudo apt-get install -y chromium (or set CHROMIUM_PATH)" >&2
  fi
fi

step "type check: tsc --noEmit -p tsconfig.json"
npx tsc --noEmit -p tsconfig.json

step "lint: biome check ."
npx biome check .

run_vitest -- "$@"
