#!/usr/bin/env bash
# The cost of each index of event_store.events, and of append_batch on top of a plain INSERT of the
# same rows: pgbench, 4 clients, 100 rows per transaction (case 2's shape), tables pre-filled with
# PREFILL rows, variants interleaved ROUNDS times. EXPERIMENT (schema copies, not the adapter).
#   bash bench/experiments/index-cost.sh
set -euo pipefail
SERVER="$(echo "${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432}" | sed -E 's#^(postgres(ql)?://[^/]+).*#\1#')"
DB=roomline_bench_idx
PREFILL="${PREFILL:-120000}"
ROUNDS="${ROUNDS:-2}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-5}"
PGBENCH="$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"; psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT

psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
npx tsx "$HERE/print-schema.ts" real > "$WORK/real.sql"
npx tsx "$HERE/print-schema.ts" setbased > "$WORK/setbased.sql"
psql "$SERVER/$DB" -q -f "$WORK/real.sql" -f "$WORK/setbased.sql" >/dev/null 2>&1

DATA='{"bookingId":"5b0a2f5e-6a43-4a5e-9a52-4b8f2b0e6f11","checkIn":"2026-03-14","checkOut":"2026-03-17","currency":"EUR","guestId":"f0e4c2a3-1d2b-4c5d-8e9f-a0b1c2d3e4f5","guests":2,"note":"late arrival, around 22:00","priceCents":38901,"roomId":"room-1"}'
META='{"actorId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","actorRole":"guest","causationId":null,"correlationId":"1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b","occurredAt":"2026-11-25T19:00:00.000Z","requestId":"req-1"}'

table() { # name, json type, extra constraints
  psql "$SERVER/$DB" -q <<SQL
CREATE TABLE $1 (
  position bigint PRIMARY KEY, stream_id text NOT NULL, revision bigint NOT NULL, event_id uuid NOT NULL,
  type text NOT NULL, schema_version integer NOT NULL, data $2 NOT NULL, metadata $2 NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(), hash text NOT NULL, previous_hash text NOT NULL $3);
INSERT INTO $1 (position, stream_id, revision, event_id, type, schema_version, data, metadata, hash, previous_hash)
SELECT g, 'Pre-' || md5((g / 100)::text), g % 100, gen_random_uuid(), 'BookingRequested', 1, '$DATA', '$META', md5(g::text), md5(g::text)
  FROM generate_series(1, $PREFILL) g;
SQL
}
table t_pk json ''
table t_pk_streamrev json ', UNIQUE (stream_id, revision)'
table t_pk_eventid json ', UNIQUE (event_id)'
table t_all json ', UNIQUE (stream_id, revision), UNIQUE (event_id)'
table t_all_text text ', UNIQUE (stream_id, revision), UNIQUE (event_id)'
psql "$SERVER/$DB" -q -c "CREATE SEQUENCE pos START $((PREFILL + 1))" -c "
INSERT INTO event_store.events (position, stream_id, revision, event_id, type, schema_version, data, metadata, hash, previous_hash)
SELECT g, 'Pre-' || md5((g / 100)::text), g % 100, gen_random_uuid(), 'BookingRequested', 1, '$DATA', '$META', md5(g::text), md5(g::text)
  FROM generate_series(1, $PREFILL) g" -c "VACUUM ANALYZE"

for t in t_pk t_pk_streamrev t_pk_eventid t_all t_all_text; do
  cat > "$WORK/$t.sql" <<SQL
INSERT INTO $t (position, stream_id, revision, event_id, type, schema_version, data, metadata, hash, previous_hash)
SELECT nextval('pos'), s.id, g - 1, gen_random_uuid(), 'BookingRequested', 1, '$DATA', '$META', md5(g::text), md5(g::text)
  FROM (SELECT 'Bench-' || gen_random_uuid() AS id) s, generate_series(1, 100) g;
SQL
done
for fn in append_batch append_batch_real; do
  cat > "$WORK/$fn.sql" <<SQL
SELECT count(*) FROM event_store.$fn(ARRAY['Bench-' || gen_random_uuid()], ARRAY[-1::bigint], ARRAY[100],
  ARRAY(SELECT gen_random_uuid() FROM generate_series(1, 100)), array_fill('BookingRequested'::text, ARRAY[100]),
  array_fill(1, ARRAY[100]), array_fill('$DATA'::text, ARRAY[100]), array_fill('$META'::text, ARRAY[100]));
SQL
done
# The real function under another name, beside the set-based one (both with enable_seqscan off, see README).
psql "$SERVER/$DB" -q -c "ALTER FUNCTION event_store.append_batch_items(text[], bigint[], integer[], uuid[], text[], integer[], text[], text[]) RENAME TO append_batch_real" \
  -c "ALTER FUNCTION event_store.append_batch_real(text[], bigint[], integer[], uuid[], text[], integer[], text[], text[]) SET enable_seqscan = off" \
  -c "CREATE FUNCTION event_store.append_batch_items(p_streams text[], p_expected bigint[], p_counts integer[], p_ids uuid[], p_types text[], p_versions integer[], p_data text[], p_metadata text[]) RETURNS TABLE (item integer, status integer, actual bigint, next_revision bigint, last_position bigint) LANGUAGE sql AS 'SELECT * FROM event_store.append_batch_real(p_streams, p_expected, p_counts, p_ids, p_types, p_versions, p_data, p_metadata)'" \
  -c "ALTER FUNCTION event_store.append_batch(text[], bigint[], integer[], uuid[], text[], integer[], text[], text[]) SET enable_seqscan = off"

declare -A LABEL=(
  [t_pk]='INSERT 100 rows: PK only'
  [t_pk_streamrev]='INSERT 100 rows: PK + (stream_id, revision)'
  [t_pk_eventid]='INSERT 100 rows: PK + event_id'
  [t_all]='INSERT 100 rows: all 3 indexes (= event_store.events)'
  [t_all_text]='INSERT 100 rows: all 3 indexes, text instead of json'
  [append_batch_real]='append_batch (real function + enable_seqscan off), 1 append of 100'
  [append_batch]='append_batch (set-based patch), 1 append of 100'
)
declare -A BEST
for round in $(seq "$ROUNDS"); do
  for v in t_pk t_pk_streamrev t_pk_eventid t_all t_all_text append_batch_real append_batch; do
    tps=$("$PGBENCH" -n -c 4 -j 2 -T "$SECONDS_PER_RUN" -f "$WORK/$v.sql" "$SERVER/$DB" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    rows=$(printf '%.0f' "$(echo "$tps * 100" | bc)")
    echo "round $round $v: $rows rows/s" >&2
    if [[ -z "${BEST[$v]:-}" || "$rows" -gt "${BEST[$v]}" ]]; then BEST[$v]=$rows; fi
  done
done
echo "| Variant (4 clients, 100 rows per transaction, $PREFILL rows pre-filled) | rows/s (best of $ROUNDS) |"
echo "| --- | --- |"
for v in t_pk t_pk_streamrev t_pk_eventid t_all t_all_text append_batch_real append_batch; do
  echo "| ${LABEL[$v]} | ${BEST[$v]} |"
done
