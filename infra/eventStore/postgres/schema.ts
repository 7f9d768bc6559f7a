/**
 * The PostgreSQL event store's schema, created idempotently by `ensureEventStoreSchema`.
 * See docs/decisions/0001-gap-free-positions.md and 0003-hash-chain.md.
 *
 * position = (transaction id << 16) + index within the append. Readers only read positions below
 * (xmin of their snapshot << 16): every transaction with a lower id has finished, so no event can
 * later appear below a position a reader has passed. The per-stream advisory lock is taken before
 * the transaction id is assigned, so positions follow revisions within a stream. Concurrent appends
 * are grouped into one transaction (group commit), see `append_batch`.
 */
export const EVENT_STORE_SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS event_store;
DROP FUNCTION IF EXISTS event_store.append(text, bigint, uuid[], text[], integer[], text[], text[]);

CREATE TABLE IF NOT EXISTS event_store.events (
  position        bigint      PRIMARY KEY,
  stream_id       text        NOT NULL,
  revision        bigint      NOT NULL,
  event_id        uuid        NOT NULL,
  type            text        NOT NULL,
  schema_version  integer     NOT NULL,
  data            json        NOT NULL,
  metadata        json        NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  hash            text        NOT NULL,
  previous_hash   text        NOT NULL,
  CONSTRAINT events_stream_revision UNIQUE (stream_id, revision),
  CONSTRAINT events_event_id UNIQUE (event_id)
);

-- Appends a batch of independent appends (from concurrent callers) in one transaction: one commit,
-- one WAL flush for all of them. Each item succeeds or fails on its own; statuses: 0 appended or
-- already present (idempotent), 1 wrong expected revision (actual in "actual"), 2 event id clash.
-- Expected revision codes: -1 no_stream, -2 any, -3 stream_exists, >= 0 exact.
CREATE OR REPLACE FUNCTION event_store.append_batch(
  p_streams text[], p_expected bigint[], p_counts integer[],
  p_ids uuid[], p_types text[], p_versions integer[], p_data text[], p_metadata text[]
) RETURNS TABLE (item integer, status integer, actual bigint, next_revision bigint, last_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_items integer := cardinality(p_streams);
  v_base bigint;
  v_offset integer := 0;
  v_used integer := 0;
  v_stream text;
  v_expected bigint;
  v_revision bigint;
  v_hash text;
  v_found_stream text;
  v_found_revision bigint;
  v_hashes text[];
  v_previous text[];
  v_revisions bigint[];
  i integer;
  j integer;
  n integer;
BEGIN
  IF cardinality(p_ids) > 65535 THEN
    RAISE EXCEPTION 'one batch takes at most 65535 events' USING ERRCODE = '22023';
  END IF;

  -- Stream locks in one global order (no deadlocks between batches); taken before the transaction
  -- id exists, so a stream's positions follow its revisions.
  PERFORM pg_advisory_xact_lock(locks.k)
     FROM (SELECT DISTINCT hashtextextended(s, 0) AS k FROM unnest(p_streams) s ORDER BY 1) locks;

  v_base := (pg_current_xact_id()::text::bigint) << 16;

  FOR i IN 1 .. v_items LOOP
    v_stream := p_streams[i];
    v_expected := p_expected[i];
    n := p_counts[i];

    SELECT e.stream_id, e.revision INTO v_found_stream, v_found_revision
      FROM event_store.events e WHERE e.event_id = p_ids[v_offset + 1];
    IF FOUND THEN
      IF v_found_stream = v_stream AND (
        SELECT count(*) FROM event_store.events e
         WHERE e.stream_id = v_stream AND e.event_id = ANY (p_ids[v_offset + 1 : v_offset + n])
           AND e.revision BETWEEN v_found_revision AND v_found_revision + n - 1
      ) = n THEN
        RETURN QUERY SELECT i, 0, NULL::bigint, e.revision, e.position FROM event_store.events e
          WHERE e.stream_id = v_stream AND e.revision = v_found_revision + n - 1;
      ELSE
        RETURN QUERY SELECT i, 2, NULL::bigint, NULL::bigint, NULL::bigint;
      END IF;
      v_offset := v_offset + n;
      CONTINUE;
    END IF;
    IF n > 1 AND EXISTS (SELECT 1 FROM event_store.events e WHERE e.event_id = ANY (p_ids[v_offset + 2 : v_offset + n])) THEN
      RETURN QUERY SELECT i, 2, NULL::bigint, NULL::bigint, NULL::bigint;
      v_offset := v_offset + n;
      CONTINUE;
    END IF;

    SELECT e.revision, e.hash INTO v_revision, v_hash
      FROM event_store.events e WHERE e.stream_id = v_stream ORDER BY e.revision DESC LIMIT 1;
    IF NOT FOUND THEN
      v_revision := -1;
      v_hash := repeat('0', 64);
    END IF;

    IF (v_expected = -1 AND v_revision <> -1)
       OR (v_expected = -3 AND v_revision = -1)
       OR (v_expected >= 0 AND v_revision <> v_expected) THEN
      RETURN QUERY SELECT i, 1, v_revision, NULL::bigint, NULL::bigint;
      v_offset := v_offset + n;
      CONTINUE;
    END IF;

    v_hashes := array_fill(NULL::text, ARRAY[n]);
    v_previous := array_fill(NULL::text, ARRAY[n]);
    v_revisions := array_fill(NULL::bigint, ARRAY[n]);
    FOR j IN 1 .. n LOOP
      v_revision := v_revision + 1;
      v_previous[j] := v_hash;
      v_hash := encode(sha256(convert_to(
        v_hash || E'\n' || v_stream || E'\n' || v_revision::text || E'\n' || p_ids[v_offset + j]::text || E'\n' ||
        p_types[v_offset + j] || E'\n' || p_versions[v_offset + j]::text || E'\n' ||
        p_data[v_offset + j] || E'\n' || p_metadata[v_offset + j], 'UTF8')), 'hex');
      v_hashes[j] := v_hash;
      v_revisions[j] := v_revision;
    END LOOP;

    INSERT INTO event_store.events
      (position, stream_id, revision, event_id, type, schema_version, data, metadata, hash, previous_hash)
    SELECT v_base + v_used + u.ord - 1, v_stream, u.revision, u.id, u.type, u.version, u.data::json, u.metadata::json,
           u.hash, u.previous
      FROM unnest(p_ids[v_offset + 1 : v_offset + n], p_types[v_offset + 1 : v_offset + n],
                  p_versions[v_offset + 1 : v_offset + n], p_data[v_offset + 1 : v_offset + n],
                  p_metadata[v_offset + 1 : v_offset + n], v_hashes, v_previous, v_revisions)
           WITH ORDINALITY AS u(id, type, version, data, metadata, hash, previous, revision, ord);

    v_used := v_used + n;
    v_offset := v_offset + n;
    RETURN QUERY SELECT i, 0, NULL::bigint, v_revision, v_base + v_used - 1;
  END LOOP;
END
$fn$;
`;
