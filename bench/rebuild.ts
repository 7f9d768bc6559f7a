/**
 * `npm run bench:rebuild`: rebuilds the read models from BENCH_EVENTS events (default 1,000,000) and reports events/s.
 *
 * Creates its own database (BENCH_DATABASE, default roomline_bench_rebuild; dropped at the end), appends the mix of
 * infra/demo/platformHistory.ts through the application's event store (personal data sealed, as the commands append it),
 * then, each timed on its own:
 *   - the ceiling: every event read back (readAll through the opened store, and through the raw store);
 *   - the PostGIS read models (every PgProjection but search and analytics) caught up from empty checkpoints by a
 *     ProjectionRunner, as a projector process does, then rebuilt blue/green (a rebuild asked of the running runner,
 *     into shadow tables, swapped in);
 *   - the room search projection (PostgreSQL), from scratch and blue/green;
 *   - the analytics projection on chDB (a fresh data directory), from scratch and blue/green (copies of its tables).
 * events/s is the store's events over the seconds until every projection of the run has its checkpoint at the head.
 *
 *   BENCH_EVENTS=1000000   events appended
 *   BENCH_POOL_SIZE=8      PG_POOL_SIZE of the runtime (three pools: the store's, the ORM's, the runner's)
 *   BENCH_PHASES=ceiling,pg,bluegreen,search,analytics   a subset
 *   BENCH_WRITE=0          print only
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import type pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../infra/config/config.js';
import { prepareDatabase } from '../infra/db/prepare.js';
import { appendPlatformHistory } from '../infra/demo/platformHistory.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import { projections as allReadModels, createRuntime } from '../infra/runtime.js';
import { requestRebuild } from '../projections/operations.js';
import type { PgProjection } from '../projections/projection.js';
import { ProjectionRunner } from '../projections/runner.js';
import { createBenchDatabase, formatNumber, markdownTable, nproc, publishReport, runBenchmark } from './support.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const POOL_SIZE = process.env.BENCH_POOL_SIZE ?? '8';
const DATABASE = process.env.BENCH_DATABASE ?? 'roomline_bench_rebuild';
const PHASES = new Set((process.env.BENCH_PHASES ?? 'ceiling,pg,bluegreen,search,analytics').split(','));
/** Only these read models (comma-separated names), for investigations. */
const ONLY = process.env.BENCH_ONLY?.split(',');
const log = (message: string) => process.stderr.write(`[bench:rebuild] ${message}\n`);
const readModels = ONLY ? allReadModels.filter((p) => ONLY.includes(p.name)) : allReadModels;
const silent = pino({ level: 'silent' });

interface Row {
  what: string;
  events: number;
  seconds: number;
  note: string;
}

function bar(label: string, total: number) {
  const progress = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total} {rate} ev/s {note}`, hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  progress.start(total, 0, { rate: 0, note: '' });
  const started = performance.now();
  return {
    update(value: number, note = '') {
      progress.update(value, { rate: Math.round(value / ((performance.now() - started) / 1000)), note });
    },
    stop: () => progress.stop(),
  };
}

/** Runs `projections` in a runner from their current checkpoints until each has reached `head`. */
async function catchUp(
  runtime: Awaited<ReturnType<typeof createRuntime>>,
  label: string,
  projections: readonly PgProjection[],
  head: bigint,
): Promise<{ seconds: number; each: Map<string, number> }> {
  const orm = await runtime.openRunnerOrm();
  const at = new Map<string, bigint>(projections.map((p) => [p.name, 0n]));
  const each = new Map<string, number>();
  const progress = bar(label, Number(head));
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const started = performance.now();
  const runner = new ProjectionRunner({
    orm,
    store: runtime.eventStore,
    storedEvents: runtime.rawEventStore,
    databaseUrl: runtime.config.DATABASE_URL,
    projections,
    logger: silent,
    onBatch: (name, _events, checkpoint) => {
      at.set(name, checkpoint);
      if (checkpoint >= head && !each.has(name)) each.set(name, (performance.now() - started) / 1000);
      const slowest = [...at].reduce((a, b) => (b[1] < a[1] ? b : a));
      progress.update(Number(slowest[1]), `slowest ${slowest[0]}`);
      if (each.size === projections.length) done();
    },
  });
  await runner.start();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  progress.stop();
  await runner.stop();
  await orm.close(true);
  return { seconds, each };
}

/** Asks a running runner for a blue/green rebuild of each projection and waits until every one is switched in. */
async function blueGreen(
  runtime: Awaited<ReturnType<typeof createRuntime>>,
  label: string,
  projections: readonly PgProjection[],
  head: bigint,
): Promise<{ seconds: number; each: Map<string, number> }> {
  const orm = await runtime.openRunnerOrm();
  const runner = new ProjectionRunner({
    orm,
    store: runtime.eventStore,
    storedEvents: runtime.rawEventStore,
    databaseUrl: runtime.config.DATABASE_URL,
    projections,
    logger: silent,
    controlPollMs: 200,
  });
  await runner.start();
  while (projections.some((p) => runner.state(p.name) !== 'active')) await new Promise((r) => setTimeout(r, 50));
  const progress = bar(label, Number(head) * projections.length);
  const started = performance.now();
  for (const projection of projections) await requestRebuild(runtime.pool, projection, null);
  const each = new Map<string, number>();
  for (;;) {
    const { rows } = await runtime.pool.query<{ name: string; status: string; position: string; error: string }>(
      'SELECT name, status, position, error FROM projection_rebuilds WHERE name = ANY($1)',
      [projections.map((p) => p.name)],
    );
    for (const row of rows) {
      if (row.status === 'failed') throw new Error(`rebuild of ${row.name} failed: ${row.error}`);
      if (row.status === 'done' && !each.has(row.name)) each.set(row.name, (performance.now() - started) / 1000);
    }
    const sum = rows.reduce((total, row) => total + (row.status === 'done' ? Number(head) : Number(row.position)), 0);
    progress.update(sum, `${each.size}/${projections.length} switched in`);
    if (each.size === projections.length) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const seconds = (performance.now() - started) / 1000;
  progress.stop();
  await runner.stop();
  await orm.close(true);
  return { seconds, each };
}

async function readEverything(store: EventStore, label: string, head: bigint): Promise<number> {
  const progress = bar(label, Number(head));
  const started = performance.now();
  let n = 0;
  for await (const _ of store.readAll()) {
    if (++n % 10_000 === 0) progress.update(n);
  }
  progress.update(n);
  progress.stop();
  return (performance.now() - started) / 1000;
}

async function parkedCount(pool: pg.Pool): Promise<Array<{ projection: string; n: number; error: string }>> {
  const { rows } = await pool.query<{ projection: string; n: string; error: string }>(
    'SELECT projection, count(*) AS n, min(error) AS error FROM projection_parked GROUP BY projection',
  );
  return rows.map((row) => ({ projection: row.projection, n: Number(row.n), error: row.error }));
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const db = await createBenchDatabase(DATABASE);
  const dataDir = mkdtempSync(join(os.tmpdir(), 'roomline-bench-rebuild-'));
  await prepareDatabase(db.url);
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: db.url,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    QUEUE_PREFIX: `rl-bench-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'silent',
    ROOMLINE_PROCESS: 'projector',
    PROJECTIONS: '',
    DATA_DIR: dataDir,
    PG_POOL_SIZE: POOL_SIZE,
    ANALYTICS_BACKEND: 'chdb',
    SEARCH_BACKEND: 'postgres',
    EVENT_STORE: 'postgres',
    GEOCODER: 'none',
  });
  const runtime = await createRuntime(config, silent);
  const rows: Row[] = [];
  const perProjection: string[][] = [];
  try {
    // Generation (not part of any figure).
    log(`appending ${formatNumber(EVENTS)} events`);
    const genStarted = performance.now();
    const genBar = bar('append', EVENTS);
    const mix = await appendPlatformHistory(
      runtime.eventStore,
      (userId) => runtime.identity.eraseKeys(userId),
      EVENTS,
      runtime.clock.now().getTime() - 180 * 86_400_000,
      { onProgress: (appended) => genBar.update(appended) },
    );
    genBar.stop();
    const genSeconds = (performance.now() - genStarted) / 1000;
    const head = await runtime.rawEventStore.headPosition();
    // Positions have gaps (taken before commit): the figures count events, the progress bars positions.
    const { rows: counted } = await runtime.pool.query<{ n: string }>('SELECT count(*) AS n FROM event_store.events');
    const total = Number(counted[0]!.n);
    log(`appended ${formatNumber(total)} events in ${formatNumber(genSeconds, 1)} s`);
    await runtime.pool.query('VACUUM ANALYZE');

    if (PHASES.has('ceiling')) {
      const raw = await readEverything(runtime.rawEventStore, 'read raw', head);
      rows.push({ what: 'ceiling: readAll, raw store (no opening)', events: total, seconds: raw, note: '' });
      const opened = await readEverything(runtime.eventStore, 'read opened', head);
      rows.push({
        what: 'ceiling: readAll, opened store (personal data opened, upcast), what projections read',
        events: total,
        seconds: opened,
        note: '',
      });
    }
    const eachRows = (phase: string, result: { seconds: number; each: Map<string, number> }) => {
      for (const [name, seconds] of [...result.each].sort((a, b) => a[1] - b[1])) {
        perProjection.push([phase, name, formatNumber(seconds, 1), formatNumber(total / seconds)]);
      }
    };
    if (PHASES.has('pg')) {
      const result = await catchUp(runtime, 'read models', readModels, head);
      rows.push({
        what: `PostGIS read models (${readModels.length}), from scratch (empty checkpoints), one runner`,
        events: total,
        seconds: result.seconds,
        note: 'all at once',
      });
      eachRows('from scratch', result);
    }
    if (PHASES.has('bluegreen')) {
      const rebuildable = readModels.filter((p) => p.tables);
      const result = await blueGreen(runtime, 'blue/green', rebuildable, head);
      rows.push({
        what: `PostGIS read models (${rebuildable.length} with tables), blue/green rebuild asked of the running runner`,
        events: total,
        seconds: result.seconds,
        note: `all at once; ${readModels.length - rebuildable.length} without tables not rebuildable this way`,
      });
      eachRows('blue/green', result);
    }
    const search = runtime.projections.find((p) => p.name === 'room-search')!;
    if (PHASES.has('search')) {
      const result = await catchUp(runtime, 'search', [search], head);
      rows.push({ what: 'room search (PostgreSQL), from scratch', events: total, seconds: result.seconds, note: '' });
      const bg = await blueGreen(runtime, 'search b/g', [search], head);
      rows.push({ what: 'room search (PostgreSQL), blue/green', events: total, seconds: bg.seconds, note: '' });
    }
    if (PHASES.has('analytics')) {
      const analytics = runtime.projections.find((p) => p.name.startsWith('analytics'))!;
      const result = await catchUp(runtime, 'analytics', [analytics], head);
      rows.push({ what: 'analytics (chDB, embedded), from scratch', events: total, seconds: result.seconds, note: '' });
      const bg = await blueGreen(runtime, 'analytics b/g', [analytics], head);
      rows.push({ what: 'analytics (chDB, embedded), blue/green', events: total, seconds: bg.seconds, note: '' });
    }
    const parked = await parkedCount(runtime.pool);
    const loadAfter = os.loadavg();
    const report = [
      `# bench:rebuild — ${new Date().toISOString()}`,
      '',
      `Command: \`BENCH_EVENTS=${EVENTS} npm run bench:rebuild\` (bench/rebuild.ts, events from infra/demo/platformHistory.ts).`,
      '',
      `Machine: nproc ${nproc()} (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 1024 ** 3)} GB RAM, load average before ${loadBefore.map((l) => l.toFixed(2)).join('/')}, after ${loadAfter.map((l) => l.toFixed(2)).join('/')}; Node ${process.version}; PostgreSQL on the same machine, shared with other sessions (a CI run, other tests): the figures are noisy.`,
      `Settings: PG_POOL_SIZE ${POOL_SIZE} per pool; runner defaults (batch = the projection's batchSize or 2,000, rebuildBatchSize 2000); appending ${formatNumber(total)} events took ${formatNumber(genSeconds, 1)} s (not in any figure).`,
      '',
      markdownTable(
        ['what', 'events', 'seconds', 'events/s', 'of the opened-read ceiling', 'note'],
        rows.map((row) => {
          const ceiling = rows.find((r) => r.what.startsWith('ceiling: readAll, opened'));
          const rate = row.events / row.seconds;
          return [
            row.what,
            formatNumber(row.events),
            formatNumber(row.seconds, 1),
            formatNumber(rate),
            ceiling ? `${Math.round((rate / (ceiling.events / ceiling.seconds)) * 100)}%` : '—',
            row.note,
          ];
        }),
      ),
      '',
      'Goal for the PostGIS read models: at least 20,000 events/s.',
      '',
      '## Each read model (time until its checkpoint reached the head, all running together)',
      '',
      markdownTable(['run', 'projection', 'seconds', 'events/s'], perProjection),
      '',
      `Parked events after all runs: ${parked.length === 0 ? 'none' : parked.map((p) => `${p.projection} ${p.n} (${p.error})`).join('; ')}.`,
      '',
      '## Event mix',
      '',
      markdownTable(
        ['type', 'events'],
        [...mix].sort((a, b) => b[1] - a[1]).map(([type, n]) => [type, formatNumber(n)]),
      ),
      '',
    ].join('\n');
    await publishReport('rebuild', report);
  } finally {
    await runtime.close();
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBenchmark(main);
