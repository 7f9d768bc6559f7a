/**
 * `npm run cli -- <command>`: what an operator or analyst runs by hand against this deployment's data.
 *
 *   npm run cli -- analytics sql "<query>" [--format TabSeparatedWithNames|CSVWithNames|JSONEachRow]
 *
 * Runs one query against the embedded analytics engine (chDB under DATA_DIR/analytics), read-only: the engine is
 * switched to `readonly = 1` before the query, which it refuses to lift, so INSERT, ALTER, DROP and SET all fail.
 * chDB lets one process own its directory: stop the process that runs the analytics projection first, or take the
 * CSV exports while it runs. A ClickHouse server is queried with its own client (README, Analytics).
 */
import { ANALYTICS_STREAM_FORMATS, type AnalyticsStreamFormat } from './analytics/analyticsStore.js';
import { createAnalyticsStore } from './analytics/createAnalyticsStore.js';
import { ConfigSchema } from './config/config.js';

const USAGE = `usage: npm run cli -- analytics sql "<query>" [--format ${ANALYTICS_STREAM_FORMATS.join('|')}]`;

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
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
