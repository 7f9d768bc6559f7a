/**
 * Variants of the event store schema for the experiments (NOT the adapter: these are copies built
 * from EVENT_STORE_SCHEMA_SQL by string replacement, each in its own schema or database).
 */
import { EVENT_STORE_SCHEMA_SQL } from '../../infra/eventStore/postgres/schema.js';

function replaceOnce(sql: string, from: string | RegExp, to: string): string {
  const next = sql.replace(from, to);
  if (next === sql) throw new Error(`variant: pattern not found: ${String(from)}`);
  return next;
}

/** The real schema with `event_store` renamed to `schema`. */
export function realSchema(schema = 'event_store'): string {
  return EVENT_STORE_SCHEMA_SQL.replaceAll('event_store.', `${schema}.`).replace(
    'CREATE SCHEMA IF NOT EXISTS event_store;',
    `CREATE SCHEMA IF NOT EXISTS ${schema};`,
  );
}

/** No sha256 per event (hash = previous hash): the cost of the plpgsql hash chain. */
export function noHashSchema(schema: string): string {
  return replaceOnce(
    realSchema(schema),
    /v_hash := encode\(sha256\(convert_to\([\s\S]*?'UTF8'\)\), 'hex'\);/,
    'v_hash := v_hash;',
  );
}

/** Without the two idempotency lookups by event id (first id, then the others). */
export function noIdempotencySchema(schema: string): string {
  let sql = realSchema(schema);
  sql = replaceOnce(
    sql,
    /SELECT e\.stream_id, e\.revision INTO v_found_stream, v_found_revision\s+FROM [a-z_]+\.events e WHERE e\.event_id = p_ids\[v_offset \+ 1\];\s+IF FOUND THEN/,
    'IF false THEN',
  );
  sql = replaceOnce(
    sql,
    /IF n > 1 AND EXISTS \(SELECT 1 FROM [a-z_]+\.events e WHERE e\.event_id = ANY \(p_ids\[v_offset \+ 2 : v_offset \+ n\]\)\) THEN/,
    'IF false THEN',
  );
  return sql;
}

/** data and metadata as text: no json validation on insert (and no json parse on read). */
export function textColumnsSchema(schema: string): string {
  let sql = realSchema(schema);
  sql = replaceOnce(sql, /data {12}json {8}NOT NULL/, 'data            text        NOT NULL');
  sql = replaceOnce(sql, /metadata {8}json {8}NOT NULL/, 'metadata        text        NOT NULL');
  sql = replaceOnce(sql, 'u.data::json, u.metadata::json', 'u.data, u.metadata');
  return sql;
}

/** No unique index on event_id (and so no idempotency lookups either). */
export function noEventIdIndexSchema(schema: string): string {
  return replaceOnce(noIdempotencySchema(schema), /,\s*CONSTRAINT events_event_id UNIQUE \(event_id\)/, '');
}

/**
 * The suggested patch: the real function renamed `append_batch_items` (kept for the rare cases) and
 * a new `append_batch` that handles the common case set-wise: one lock statement, one check that
 * no stream repeats and no id exists, one query for all stream heads, a plpgsql loop that only
 * hashes, one INSERT for the whole batch.
 */
export function setBasedSchema(schema: string): string {
  const items = realSchema(schema).replace(
    `CREATE OR REPLACE FUNCTION ${schema}.append_batch(`,
    `CREATE OR REPLACE FUNCTION ${schema}.append_batch_items(`,
  );
  return `${items}
${SET_BASED_FUNCTION.replaceAll('event_store.', `${schema}.`)}`;
}

export const SET_BASED_FUNCTION = `
CREATE OR REPLACE FUNCTION event_store.append_batch(
  p_streams text[], p_expected bigint[], p_counts integer[],
  p_ids uuid[], p_types text[], p_versions integer[], p_data text[], p_metadata text[]
) RETURNS TABLE (item integer, status integer, actual bigint, next_revision bigint, last_position bigint)
LANGUAGE plpgsql AS $fn$
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
    IF (v_expected = -1 AND v_revision <> -1)
       OR (v_expected = -3 AND v_revision = -1)
       OR (v_expected >= 0 AND v_revision <> v_expected) THEN
      r_status[i] := 1;
      r_actual[i] := v_revision;
      v_offset := v_offset + n;
      CONTINUE;
    END IF;
    FOR j IN 1 .. n LOOP
      k := v_offset + j;
      v_revision := v_revision + 1;
      v_previous[v_used + j] := v_hash;
      v_hash := encode(sha256(convert_to(
        v_hash || E'\\n' || v_stream || E'\\n' || v_revision::text || E'\\n' || p_ids[k]::text || E'\\n' ||
        p_types[k] || E'\\n' || p_versions[k]::text || E'\\n' || p_data[k] || E'\\n' || p_metadata[k], 'UTF8')), 'hex');
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
