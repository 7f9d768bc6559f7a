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
/**
 * Every append transaction holds this advisory lock (shared, key (class, 0)) from before its transaction
 * id is assigned until it ends, so readers can tell the appends still open from other transactions.
 */
export const APPEND_LOCK_CLASS = 7246002;

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

-- The hash chain of docs/decisions/0003, in one place for both append paths (hashChain.ts computes the same).
CREATE OR REPLACE FUNCTION event_store.event_hash(
  p_previous text, p_stream text, p_revision bigint, p_id uuid, p_type text, p_version integer, p_data text, p_metadata text
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT encode(sha256(convert_to(concat_ws(chr(10), p_previous, p_stream, p_revision::text, p_id::text, p_type,
                                            p_version::text, p_data, p_metadata), 'UTF8')), 'hex')
$fn$;

-- Expected revision codes: -1 no_stream, -2 any, -3 stream_exists, >= 0 exact; actual -1 is no stream.
CREATE OR REPLACE FUNCTION event_store.revision_mismatch(p_expected bigint, p_actual bigint)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT (p_expected = -1 AND p_actual <> -1) OR (p_expected = -3 AND p_actual = -1)
      OR (p_expected >= 0 AND p_actual <> p_expected)
$fn$;

-- Appends a batch of independent appends (from concurrent callers) in one transaction: one commit,
-- one WAL flush for all of them. Each item succeeds or fails on its own; statuses: 0 appended or
-- already present (idempotent), 1 wrong expected revision (actual in "actual"), 2 event id clash.
-- Expected revision codes: -1 no_stream, -2 any, -3 stream_exists, >= 0 exact.
CREATE OR REPLACE FUNCTION event_store.append_batch_items(
  p_streams text[], p_expected bigint[], p_counts integer[],
  p_ids uuid[], p_types text[], p_versions integer[], p_data text[], p_metadata text[]
) RETURNS TABLE (item integer, status integer, actual bigint, next_revision bigint, last_position bigint)
LANGUAGE plpgsql
-- Every statement here is an index lookup. PL/pgSQL caches plans made while the table was small,
-- and a cached sequential scan turns each append into a scan of the whole store as it grows.
SET enable_seqscan = off
AS $fn$
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
  -- Marks this transaction as an append before it has an id: readers bound what they read by the
  -- appends still open, not by every transaction in the cluster (decision 0001, addendum 2).
  PERFORM pg_advisory_xact_lock_shared(${APPEND_LOCK_CLASS}, 0);

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

    IF event_store.revision_mismatch(v_expected, v_revision) THEN
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
      v_hash := event_store.event_hash(v_hash, v_stream, v_revision, p_ids[v_offset + j], p_types[v_offset + j],
                                       p_versions[v_offset + j], p_data[v_offset + j], p_metadata[v_offset + j]);
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
-- The fast path for the common case (each stream once, every event id new): one lock statement, one
-- id check, one query for all stream heads, the hash loop, one INSERT. Anything else goes item by item.
CREATE OR REPLACE FUNCTION event_store.append_batch(
  p_streams text[], p_expected bigint[], p_counts integer[],
  p_ids uuid[], p_types text[], p_versions integer[], p_data text[], p_metadata text[]
) RETURNS TABLE (item integer, status integer, actual bigint, next_revision bigint, last_position bigint)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $fn$
DECLARE
  v_items integer := cardinality(p_streams);
  v_base bigint;
  v_heads bigint[];
  v_head_hashes text[];
  v_offset integer := 0;
  v_used integer := 0;
  v_stream text;
  v_expected bigint;
  v_revision bigint;
  v_hash text;
  v_ids uuid[] := '{}';
  v_types text[] := '{}';
  v_versions integer[] := '{}';
  v_data text[] := '{}';
  v_metadata text[] := '{}';
  v_streamcol text[] := '{}';
  v_revisions bigint[] := '{}';
  v_hashes text[] := '{}';
  v_previous text[] := '{}';
  r_status integer[] := '{}';
  r_actual bigint[] := '{}';
  r_next bigint[] := '{}';
  r_last bigint[] := '{}';
  i integer;
  j integer;
  k integer;
  n integer;
BEGIN
  IF cardinality(p_ids) > 65535 THEN
    RAISE EXCEPTION 'one batch takes at most 65535 events' USING ERRCODE = '22023';
  END IF;

  PERFORM pg_advisory_xact_lock(locks.k)
     FROM (SELECT DISTINCT hashtextextended(s, 0) AS k FROM unnest(p_streams) s ORDER BY 1) locks;
  PERFORM pg_advisory_xact_lock_shared(${APPEND_LOCK_CLASS}, 0);

  -- The common case only: every stream once, every id new. Retries and several appends to one
  -- stream in a batch take the item-by-item path (same locks, re-entrant).
  IF (SELECT count(DISTINCT s) FROM unnest(p_streams) s) < v_items
     OR (SELECT count(DISTINCT x) FROM unnest(p_ids) x) < cardinality(p_ids)
     OR EXISTS (SELECT 1 FROM event_store.events e WHERE e.event_id = ANY (p_ids)) THEN
    RETURN QUERY SELECT * FROM event_store.append_batch_items(p_streams, p_expected, p_counts, p_ids, p_types,
                                                               p_versions, p_data, p_metadata);
    RETURN;
  END IF;

  v_base := (pg_current_xact_id()::text::bigint) << 16;

  SELECT array_agg(coalesce(h.revision, -1) ORDER BY s.i), array_agg(coalesce(h.hash, repeat('0', 64)) ORDER BY s.i)
    INTO v_heads, v_head_hashes
    FROM unnest(p_streams) WITH ORDINALITY AS s(stream_id, i)
    LEFT JOIN LATERAL (SELECT e.revision, e.hash FROM event_store.events e
                        WHERE e.stream_id = s.stream_id ORDER BY e.revision DESC LIMIT 1) h ON true;

  FOR i IN 1 .. v_items LOOP
    v_stream := p_streams[i];
    v_expected := p_expected[i];
    n := p_counts[i];
    v_revision := v_heads[i];
    v_hash := v_head_hashes[i];
    IF event_store.revision_mismatch(v_expected, v_revision) THEN
      r_status[i] := 1;
      r_actual[i] := v_revision;
      v_offset := v_offset + n;
      CONTINUE;
    END IF;
    FOR j IN 1 .. n LOOP
      k := v_offset + j;
      v_revision := v_revision + 1;
      v_previous[v_used + j] := v_hash;
      v_hash := event_store.event_hash(v_hash, v_stream, v_revision, p_ids[k], p_types[k], p_versions[k], p_data[k],
                                       p_metadata[k]);
      v_ids[v_used + j] := p_ids[k];
      v_types[v_used + j] := p_types[k];
      v_versions[v_used + j] := p_versions[k];
      v_data[v_used + j] := p_data[k];
      v_metadata[v_used + j] := p_metadata[k];
      v_streamcol[v_used + j] := v_stream;
      v_revisions[v_used + j] := v_revision;
      v_hashes[v_used + j] := v_hash;
    END LOOP;
    v_used := v_used + n;
    v_offset := v_offset + n;
    r_status[i] := 0;
    r_next[i] := v_revision;
    r_last[i] := v_base + v_used - 1;
  END LOOP;

  INSERT INTO event_store.events
    (position, stream_id, revision, event_id, type, schema_version, data, metadata, hash, previous_hash)
  SELECT v_base + u.ord - 1, u.stream_id, u.revision, u.id, u.type, u.version, u.data::json, u.metadata::json,
         u.hash, u.previous
    FROM unnest(v_ids, v_types, v_versions, v_data, v_metadata, v_streamcol, v_revisions, v_hashes, v_previous)
         WITH ORDINALITY AS u(id, type, version, data, metadata, stream_id, revision, hash, previous, ord);

  RETURN QUERY SELECT g.i, r_status[g.i], r_actual[g.i], r_next[g.i], r_last[g.i]
                 FROM generate_series(1, v_items) AS g(i);
END
$fn$;
`;
