/**
 * `npm run cli -- <command>`: what an operator or analyst runs by hand against this deployment's data.
 *
 *   npm run cli -- analytics sql "<query>" [--format TabSeparatedWithNames|CSVWithNames|JSONEachRow]
 *   npm run cli -- audit export [--from <position>] [--to <position>] [--out FILE]
 *   npm run cli -- audit verify-export FILE
 *   npm run cli -- projections list|status|rebuild|pause|resume|parked|retry|skip … (infra/projectionsCli.ts)
 *
 * `audit export` writes the events of a range as NDJSON with a header and a manifest (projections/audit/
 * ledger.ts; the PostgreSQL event store of DATABASE_URL), counting progress on stderr; `audit verify-export`
 * checks such a file offline (no database) and exits 0 when it is intact, 1 when not.
 *
 * Runs one query against the embedded analytics engine (chDB under DATA_DIR/analytics), read-only: the engine is
 * switched to `readonly = 1` before the query, which it refuses to lift, so INSERT, ALTER, DROP and SET all fail.
 * chDB lets one process own its directory: stop the process that runs the analytics projection first, or take the
 * CSV exports while it runs. A ClickHouse server is queried with its own client (README, Analytics).
 */

import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { ledgerExport, verifyExport } from '../projections/audit/ledger.js';
import { ANALYTICS_STREAM_FORMATS, type AnalyticsStreamFormat } from './analytics/analyticsStore.js';
import { createAnalyticsStore } from './analytics/createAnalyticsStore.js';
import { ConfigSchema } from './config/config.js';
import { PostgresEventStore } from './eventStore/postgres/postgresEventStore.js';
import { PROJECTIONS_USAGE, projectionsCommand } from './projectionsCli.js';

const USAGE = [
  `usage: npm run cli -- analytics sql "<query>" [--format ${ANALYTICS_STREAM_FORMATS.join('|')}]`,
  '       npm run cli -- audit export [--from <position>] [--to <position>] [--out FILE]',
  '       npm run cli -- audit verify-export FILE',
  PROJECTIONS_USAGE,
].join('\n');

/** `--name value` options; undefined when absent, null when malformed (a flag without a value, or repeated). */
function options(args: string[], names: readonly string[]): Record<string, string | undefined> | null {
  const found: Record<string, string | undefined> = {};
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i]!.replace(/^--/, '');
    if (!args[i]!.startsWith('--') || !names.includes(name) || args[i + 1] === undefined || name in found) return null;
    found[name] = args[i + 1];
  }
  return found;
}

async function auditExport(args: string[]): Promise<number> {
  const given = options(args, ['from', 'to', 'out']);
  const position = /^\d{1,19}$/;
  if (!given || [given.from, given.to].some((value) => value !== undefined && !position.test(value))) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('audit export: set DATABASE_URL (the PostgreSQL event store)\n');
    return 2;
  }
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'roomline-cli' });
  const store = new PostgresEventStore({ pool, connectionString: url });
  const out = given.out ? createWriteStream(given.out) : process.stdout;
  try {
    const from = BigInt(given.from ?? '0');
    const to = given.to ? BigInt(given.to) : await store.headPosition();
    if (to < from) {
      process.stderr.write('audit export: --to is before --from\n');
      return 2;
    }
    const progress = (events: number) => process.stderr.write(`\raudit export: ${events.toLocaleString('en')} events`);
    for await (const line of ledgerExport({ store, pool }, from, to, progress)) {
      if (!out.write(line)) await once(out, 'drain');
    }
    process.stderr.write('\naudit export: done\n');
    return 0;
  } catch (error) {
    process.stderr.write(`audit export: ${(error as Error).message}\n`);
    return 1;
  } finally {
    if (out !== process.stdout) await new Promise<void>((done) => out.end(() => done()));
    await store.close();
    await pool.end();
  }
}

async function auditVerifyExport(args: string[]): Promise<number> {
  if (args.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    const lines = createInterface({ input: createReadStream(args[0]!), crlfDelay: Number.POSITIVE_INFINITY });
    const result = await verifyExport(lines);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.valid ? 0 : 1;
  } catch (error) {
    process.stderr.write(`audit verify-export: ${(error as Error).message}\n`);
    return 2;
  }
}

async function analyticsSql(args: string[]): Promise<number> {
  const formatAt = args.indexOf('--format');
  const format = (formatAt >= 0 ? args[formatAt + 1] : 'TabSeparatedWithNames') as AnalyticsStreamFormat;
  const rest = formatAt >= 0 ? args.filter((_, i) => i !== formatAt && i !== formatAt + 1) : args;
  if (rest.length !== 1 || !rest[0]!.trim() || !ANALYTICS_STREAM_FORMATS.includes(format)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const dataDir = process.env.DATA_DIR || ConfigSchema.properties.DATA_DIR.default;
  const store = createAnalyticsStore({ ANALYTICS_BACKEND: 'chdb', DATA_DIR: dataDir });
  try {
    await store.command('SET readonly = 1');
    for await (const chunk of store.queryStream(rest[0]!, {}, { format })) process.stdout.write(chunk);
    return 0;
  } catch (error) {
    process.stderr.write(`analytics sql: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await store.close().catch(() => undefined);
  }
}

async function main(argv: string[]): Promise<number> {
  const [area, command, ...args] = argv;
  if (area === 'analytics' && command === 'sql') return analyticsSql(args);
  if (area === 'audit' && command === 'export') return auditExport(args);
  if (area === 'audit' && command === 'verify-export') return auditVerifyExport(args);
  if (area === 'projections') return projectionsCommand(command, args);
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
