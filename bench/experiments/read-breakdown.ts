/**
 * Where does `readStream` of 1,000 events spend its time? `npx tsx bench/experiments/read-breakdown.ts`
 *
 * The real adapter's readStream against: the same query with pg's default parsers (no mapping to
 * RecordedEvent), the same query with every column left as text (protocol and transfer only), the
 * server's own execution time (EXPLAIN ANALYZE), and the JSON/date/bigint parsing alone. Reports
 * wall time and this process's CPU time per read (median over READS reads, after a warm-up).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresEventStore } from '../../infra/eventStore/postgres/postgresEventStore.js';
import { bookingEvent, createBenchDatabase, formatNumber, markdownTable, median, percentile } from '../support.js';

const READS = Number(process.env.READS ?? 100);
const COLUMNS =
  'position, stream_id, revision, event_id, type, schema_version, data, metadata, recorded_at, hash, previous_hash';
const SQL = `SELECT ${COLUMNS} FROM event_store.events WHERE stream_id = $1 ORDER BY revision ASC LIMIT $2`;

async function measure(label: string, run: () => Promise<void>) {
  for (let i = 0; i < 10; i++) await run();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < READS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return [label, formatNumber(median(wall), 2), formatNumber(percentile(wall, 0.99), 2), formatNumber(median(cpu), 2)];
}

async function main(): Promise<void> {
  const db = await createBenchDatabase('roomline_bench_read');
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const store = new PostgresEventStore({ pool, connectionString: db.url });
  const textTypes = { getTypeParser: () => (value: string) => value };
  try {
    const streamId = `Reading-${randomUUID()}`;
    for (let revision = -1; revision < 999; revision += 100) {
      const events = Array.from({ length: 100 }, () => bookingEvent());
      await store.append(streamId, events, { expectedRevision: revision < 0 ? 'no_stream' : BigInt(revision) });
    }
    // Some other streams around it, as in the benchmark.
    for (let i = 0; i < 50; i++) {
      await store.append(
        `Other-${randomUUID()}`,
        Array.from({ length: 1000 }, () => bookingEvent()),
        { expectedRevision: 'no_stream' },
      );
    }
    await pool.query('VACUUM ANALYZE event_store.events');
    const raw = (await pool.query({ text: SQL, values: [streamId, 1000], types: textTypes })).rows as Array<
      Record<string, string>
    >;
    const bytes = raw.reduce((sum, row) => sum + Object.values(row).reduce((s, v) => s + String(v).length, 0), 0);

    const cases: Array<[string, () => Promise<void>]> = [
      [
        'adapter readStream (real), whole iterable',
        async () => {
          let n = 0;
          for await (const _ of store.readStream(streamId)) n++;
          if (n !== 1000) throw new Error(String(n));
        },
      ],
      [
        'adapter readStream (real), maxCount 1000 (one round trip)',
        async () => {
          for await (const _ of store.readStream(streamId, { maxCount: 1000 })) {
            // drain
          }
        },
      ],
      [
        'pool.query, default parsers (no mapping)',
        async () => {
          await pool.query(SQL, [streamId, 1000]);
        },
      ],
      [
        'one row: json_agg of the page (bigints as text), one JSON.parse',
        async () => {
          const { rows } = await pool.query(
            `SELECT coalesce(json_agg(json_build_object('position', position::text, 'streamId', stream_id,
                      'revision', revision::text, 'eventId', event_id, 'type', type, 'schemaVersion', schema_version,
                      'data', data, 'metadata', metadata, 'recordedAt', recorded_at, 'hash', hash,
                      'previousHash', previous_hash) ORDER BY revision), '[]') AS page
               FROM (${SQL}) e`,
            [streamId, 1000],
          );
          if ((rows[0].page as unknown[]).length !== 1000) throw new Error('short');
        },
      ],
      [
        'pool.query, every column as text',
        async () => {
          await pool.query({ text: SQL, values: [streamId, 1000], types: textTypes });
        },
      ],
      [
        'JSON.parse data + metadata only (no query)',
        async () => {
          for (const row of raw) {
            JSON.parse(row.data!);
            JSON.parse(row.metadata!);
          }
        },
      ],
      [
        'new Date(recorded_at) + 2 BigInt only (no query)',
        async () => {
          for (const row of raw) {
            new Date(row.recorded_at!);
            BigInt(row.position!);
            BigInt(row.revision!);
          }
        },
      ],
    ];
    // Rounds interleave the cases; each keeps its best round (the machine is shared).
    const bestOf = new Map<string, string[]>();
    for (let round = 0; round < 3; round++) {
      for (const [label, run] of cases) {
        const result = await measure(label, run);
        const previous = bestOf.get(label);
        if (!previous || Number(previous[1]!.replace(/,/g, '')) > Number(result[1]!.replace(/,/g, ''))) {
          bestOf.set(label, result);
        }
      }
    }
    const rows = cases.map(([label]) => bestOf.get(label)!);
    const explain: number[] = [];
    for (let i = 0; i < 30; i++) {
      const { rows: plan } = await pool.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, TIMING OFF) ${SQL.replace('$1', `'${streamId}'`).replace('$2', '1000')}`,
      );
      const line = plan.map((r) => r['QUERY PLAN']).find((l) => l.startsWith('Execution Time'));
      explain.push(Number(line?.match(/([\d.]+) ms/)?.[1]));
    }
    rows.push([
      'server execution (EXPLAIN ANALYZE)',
      formatNumber(median(explain), 2),
      formatNumber(percentile(explain, 0.99), 2),
      '—',
    ]);
    process.stdout.write(
      `readStream of 1,000 events (${formatNumber(bytes / 1024)} KiB as text), ${READS} reads each after 10 warm-up\n\n${markdownTable(
        ['What', 'median ms', 'p99 ms', 'Node CPU ms (median)'],
        rows,
      )}\n`,
    );
  } finally {
    await store.close();
    await pool.end();
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
