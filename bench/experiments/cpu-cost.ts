/**
 * Where does an append spend its CPU? `npx tsx bench/experiments/cpu-cost.ts`
 *
 * The machine is shared and busy, so wall-clock A/B comparisons are noisy; CPU time per event is
 * not (much). For each variant (schema copies from schemaVariants.ts, one schema each in the
 * database roomline_bench_cpu, every table pre-filled with PREFILL rows) one connection runs the
 * adapter's `append_batch` statement (or a plain INSERT) in several shapes, with
 * synchronous_commit on, and we read the backend's CPU time from /proc/<pid>/schedstat.
 * Variants run interleaved, ROUNDS times; the table shows the lower of the rounds.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { canonicalJson } from '../../infra/eventStore/hashChain.js';
import { adminQuery, bookingEvent, formatNumber, markdownTable, serverUrl } from '../support.js';
import {
  noEventIdIndexSchema,
  noHashSchema,
  noIdempotencySchema,
  realSchema,
  setBasedSchema,
  textColumnsSchema,
} from './schemaVariants.js';

const DATABASE = 'roomline_bench_cpu';
const PREFILL = Number(process.env.PREFILL ?? 50_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
/** SYNC=off: synchronous_commit off, to separate the commit (WAL flush) from the rest. */
const SYNC = process.env.SYNC ?? 'on';
/** ONLY=regex: a subset of the variants. */
const ONLY = new RegExp(process.env.ONLY ?? '.');

interface Variant {
  name: string;
  schema: string;
  ddl: string;
  /** true: call append_batch; false: INSERT the rows directly (hash precomputed by the client). */
  fn: boolean;
}

const TABLE_DDL = (schema: string, constraints: string, json = 'json') => `
CREATE SCHEMA ${schema};
CREATE TABLE ${schema}.events (
  position bigint PRIMARY KEY, stream_id text NOT NULL, revision bigint NOT NULL, event_id uuid NOT NULL,
  type text NOT NULL, schema_version integer NOT NULL, data ${json} NOT NULL, metadata ${json} NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  hash text NOT NULL, previous_hash text NOT NULL${constraints});`;

const ALL_VARIANTS: Variant[] = [
  { name: 'append_batch (real)', schema: 'v_real', ddl: realSchema('v_real'), fn: true },
  { name: 'append_batch, no sha256 chain', schema: 'v_nohash', ddl: noHashSchema('v_nohash'), fn: true },
  {
    name: 'append_batch, no idempotency lookups',
    schema: 'v_noidem',
    ddl: noIdempotencySchema('v_noidem'),
    fn: true,
  },
  { name: 'append_batch, text columns', schema: 'v_text', ddl: textColumnsSchema('v_text'), fn: true },
  {
    name: 'append_batch, no event_id index (no lookups)',
    schema: 'v_noidx',
    ddl: noEventIdIndexSchema('v_noidx'),
    fn: true,
  },
  { name: 'append_batch, set-based patch', schema: 'v_set', ddl: setBasedSchema('v_set'), fn: true },
  {
    name: 'INSERT rows, all 3 indexes',
    schema: 'i_all',
    ddl: TABLE_DDL(
      'i_all',
      ', CONSTRAINT events_stream_revision UNIQUE (stream_id, revision), CONSTRAINT events_event_id UNIQUE (event_id)',
    ),
    fn: false,
  },
  {
    name: 'INSERT rows, PK + (stream_id, revision)',
    schema: 'i_streamrev',
    ddl: TABLE_DDL('i_streamrev', ', CONSTRAINT events_stream_revision UNIQUE (stream_id, revision)'),
    fn: false,
  },
  {
    name: 'INSERT rows, PK + event_id',
    schema: 'i_eventid',
    ddl: TABLE_DDL('i_eventid', ', CONSTRAINT events_event_id UNIQUE (event_id)'),
    fn: false,
  },
  { name: 'INSERT rows, PK only', schema: 'i_pk', ddl: TABLE_DDL('i_pk', ''), fn: false },
  { name: 'INSERT rows, PK only, text columns', schema: 'i_pktext', ddl: TABLE_DDL('i_pktext', '', 'text'), fn: false },
];

const VARIANTS = ALL_VARIANTS.filter((v) => ONLY.test(v.name));

const SHAPES = [
  { items: 1, events: 1, calls: 1500 },
  { items: 8, events: 1, calls: 300 },
  { items: 1, events: 100, calls: 60 },
  { items: 4, events: 100, calls: 15 },
];

function schedNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
}

let fakePosition = 1_000_000_000n;

function callArgs(items: number, events: number) {
  const streams: string[] = [];
  const ids: string[] = [];
  const types: string[] = [];
  const versions: number[] = [];
  const data: string[] = [];
  const metadata: string[] = [];
  for (let i = 0; i < items; i++) {
    streams.push(`Cpu-${randomUUID()}`);
    for (let j = 0; j < events; j++) {
      const event = bookingEvent();
      ids.push(event.eventId);
      types.push(event.type);
      versions.push(1);
      data.push(canonicalJson(event.data));
      metadata.push(canonicalJson(event.metadata));
    }
  }
  return { streams, ids, types, versions, data, metadata };
}

async function runShape(client: pg.Client, variant: Variant, items: number, events: number, calls: number) {
  for (let call = 0; call < calls; call++) {
    const a = callArgs(items, events);
    if (variant.fn) {
      await client.query({
        name: `append_${variant.schema}`,
        text: `SELECT item, status FROM ${variant.schema}.append_batch($1, $2::bigint[], $3, $4::uuid[], $5, $6, $7, $8)`,
        values: [
          a.streams,
          a.streams.map(() => '-1'),
          a.streams.map(() => events),
          a.ids,
          a.types,
          a.versions,
          a.data,
          a.metadata,
        ],
      });
    } else {
      const positions: string[] = [];
      const streamCol: string[] = [];
      const revisions: number[] = [];
      const hashes: string[] = [];
      for (let k = 0; k < a.ids.length; k++) {
        fakePosition++;
        positions.push(fakePosition.toString());
        streamCol.push(a.streams[Math.floor(k / events)]!);
        revisions.push(k % events);
        hashes.push(randomBytes(32).toString('hex'));
      }
      await client.query({
        name: `insert_${variant.schema}`,
        text: `INSERT INTO ${variant.schema}.events
                 (position, stream_id, revision, event_id, type, schema_version, data, metadata, hash, previous_hash)
               SELECT p, s, r, i, t, v, d::json, m::json, h, h
                 FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[])
                      AS u(p, s, r, i, t, v, d, m, h)`.replace(
          /d::json, m::json/,
          variant.schema === 'i_pktext' ? 'd, m' : 'd::json, m::json',
        ),
        values: [positions, streamCol, revisions, a.ids, a.types, a.versions, a.data, a.metadata, hashes],
      });
    }
  }
}

async function main(): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${DATABASE}`);
  const url = serverUrl(DATABASE);
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  try {
    for (const variant of VARIANTS) {
      await setup.query(variant.ddl);
      await setup.query(
        `INSERT INTO ${variant.schema}.events (position, stream_id, revision, event_id, type, schema_version, data, metadata, hash, previous_hash)
         SELECT g, 'Pre-' || md5(g::text), 0, gen_random_uuid(), 'BookingRequested', 1, $1, $2, md5(g::text), md5(g::text)
           FROM generate_series(1, $3) g`,
        [canonicalJson(bookingEvent().data), canonicalJson(bookingEvent().metadata), PREFILL],
      );
      await setup.query(`VACUUM ANALYZE ${variant.schema}.events`);
    }
  } finally {
    await setup.end();
  }

  type Key = string;
  const best = new Map<Key, { cpuUs: number; wallMs: number; nodeUs: number }>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const shape of SHAPES) {
      for (const variant of VARIANTS) {
        const client = new pg.Client({ connectionString: url, options: `-c synchronous_commit=${SYNC}` });
        await client.connect();
        try {
          const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
          await runShape(client, variant, shape.items, shape.events, 10); // warm-up: plans, caches
          const cpu0 = schedNs(pid);
          const node0 = process.cpuUsage();
          const t0 = performance.now();
          await runShape(client, variant, shape.items, shape.events, shape.calls);
          const wall = performance.now() - t0;
          const node = process.cpuUsage(node0);
          const cpu = schedNs(pid) - cpu0;
          const total = shape.calls * shape.items * shape.events;
          const key = `${variant.name}|${shape.items}x${shape.events}`;
          const result = {
            cpuUs: cpu / 1000 / total,
            wallMs: wall / shape.calls,
            nodeUs: (node.user + node.system) / total,
          };
          const previous = best.get(key);
          if (!previous || previous.cpuUs > result.cpuUs) best.set(key, result);
          process.stderr.write(
            `round ${round} ${key}: backend ${result.cpuUs.toFixed(1)} µs/event, ${result.wallMs.toFixed(2)} ms/call\n`,
          );
        } finally {
          await client.end();
        }
      }
    }
  }
  const header = ['Variant', ...SHAPES.map((s) => `${s.items}×${s.events}: backend µs/event (ms/call)`)];
  const rows = VARIANTS.map((variant) => [
    variant.name,
    ...SHAPES.map((shape) => {
      const r = best.get(`${variant.name}|${shape.items}x${shape.events}`)!;
      return `${formatNumber(r.cpuUs, 1)} (${formatNumber(r.wallMs, 2)})`;
    }),
  ]);
  process.stdout.write(
    `Backend CPU per event (lower of ${ROUNDS} rounds), table pre-filled with ${formatNumber(PREFILL)} rows; items×events per call; synchronous_commit ${SYNC}, 1 connection.\n\n${markdownTable(header, rows)}\n`,
  );
  await adminQuery(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
