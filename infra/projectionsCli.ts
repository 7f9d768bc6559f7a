import { randomUUID } from 'node:crypto';
import cliProgress from 'cli-progress';
import { pino } from 'pino';
import {
  type ParkedEvent,
  parkedEvent,
  parkedEvents,
  requestParked,
  requestRebuild,
  requestStreamRebuild,
  setPaused,
  streamRebuild,
} from '../projections/operations.js';
import { rebuildsBeside } from '../projections/projection.js';
import { type ProjectionStatus, projectionStatuses } from '../projections/status.js';
import { loadConfig } from './config/config.js';
import { createRuntime, type Runtime } from './runtime.js';

/**
 * `npm run cli -- projections …`: what support does from a shell, the same requests as /api/ops (projections/
 * operations.ts), carried out by the projector that holds each projection's lease. It opens the app's runtime as an
 * API process (so no analytics warehouse), from the same environment as the deployment.
 */

export const PROJECTIONS_USAGE = [
  '       npm run cli -- projections list',
  '       npm run cli -- projections status NAME',
  '       npm run cli -- projections rebuild NAME [--no-wait]',
  '       npm run cli -- projections rebuild NAME --stream STREAM_ID',
  '       npm run cli -- projections pause|resume NAME',
  '       npm run cli -- projections parked [NAME]',
  '       npm run cli -- projections retry|skip PARKED_EVENT_ID',
].join('\n');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function listing(statuses: ProjectionStatus[]): string {
  return table([
    ['NAME', 'VERSION', 'STATUS', 'CHECKPOINT', 'LAG', 'PARKED', 'REBUILD'],
    ...statuses.map((s) => [
      s.name,
      String(s.version),
      s.status,
      s.checkpoint,
      s.lagEvents === 0 ? '-' : `${s.lagEvents} events, ${duration(s.lagMs)}`,
      String(s.parkedEvents),
      s.rebuild ? `${s.rebuild.status} ${Math.round(s.rebuild.progress * 100)}%` : '-',
    ]),
  ]);
}

/** Follows a rebuild with a progress bar on stderr until it is done (0) or failed (1). */
async function followRebuild(runtime: Runtime, name: string): Promise<number> {
  const bar = new cliProgress.SingleBar(
    {
      format: `${name} [{bar}] {percentage}% | {value}/{total} positions | {rate} events/s | ETA {eta_left} | {state}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 2000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { rate: 0, eta_left: '?', state: 'requested' });
  try {
    for (;;) {
      const status = (await projectionStatuses(runtime.pool, runtime.eventStore, runtime.projections)).find(
        (s) => s.name === name,
      );
      const rebuild = status?.rebuild;
      if (rebuild) {
        bar.setTotal(Math.max(1, Number(rebuild.targetPosition)));
        bar.update(rebuild.status === 'done' ? Number(rebuild.targetPosition) : Number(rebuild.position), {
          rate: rebuild.eventsPerSecond.toLocaleString('en'),
          eta_left: rebuild.etaSeconds === null ? '?' : duration(rebuild.etaSeconds * 1000),
          state: rebuild.status,
        });
        if (rebuild.status === 'done') {
          bar.stop();
          process.stderr.write(
            `${name}: rebuilt, ${rebuild.eventsApplied.toLocaleString('en')} events at ${rebuild.eventsPerSecond.toLocaleString('en')} events/s, switched in\n`,
          );
          return 0;
        }
        if (rebuild.status === 'failed') {
          bar.stop();
          process.stderr.write(`${name}: rebuild failed: ${rebuild.error}\n`);
          return 1;
        }
      }
      await sleep(500);
    }
  } finally {
    bar.stop();
  }
}

function describeParked(event: ParkedEvent): string {
  return `${event.id}  ${event.projection} @${event.position}  ${event.type} on ${event.streamId}  ${event.status} (${event.attempts} attempts)  ${event.error}`;
}

async function run(runtime: Runtime, command: string, args: string[]): Promise<number> {
  const named = (name: string | undefined) => {
    const projection = name && NAME.test(name) ? runtime.projections.find((p) => p.name === name) : undefined;
    if (!projection) {
      process.stderr.write(
        `projections: no projection is named ${JSON.stringify(name ?? '')}; the names are ${runtime.projections.map((p) => p.name).join(', ')}\n`,
      );
    }
    return projection;
  };
  switch (command) {
    case 'list': {
      process.stdout.write(
        `${listing(await projectionStatuses(runtime.pool, runtime.eventStore, runtime.projections))}\n`,
      );
      return 0;
    }
    case 'status': {
      const projection = named(args[0]);
      if (!projection) return 2;
      const [status] = await projectionStatuses(runtime.pool, runtime.eventStore, [projection]);
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return 0;
    }
    case 'pause':
    case 'resume': {
      const projection = named(args[0]);
      if (!projection) return 2;
      await setPaused(runtime.pool, projection.name, command === 'pause', null);
      process.stdout.write(`${projection.name}: ${command === 'pause' ? 'paused' : 'resumed'}\n`);
      return 0;
    }
    case 'rebuild': {
      const projection = named(args[0]);
      if (!projection) return 2;
      const streamAt = args.indexOf('--stream');
      if (streamAt >= 0) {
        const streamId = args[streamAt + 1];
        if (!projection.streamRows || !streamId) {
          process.stderr.write(
            streamId ? `${projection.name} does not rebuild one stream's rows\n` : `${PROJECTIONS_USAGE}\n`,
          );
          return 2;
        }
        const asked = await requestStreamRebuild(runtime.pool, randomUUID(), projection.name, streamId, null);
        for (;;) {
          const now = await streamRebuild(runtime.pool, asked.id);
          if (now && now.status !== 'requested') {
            process.stdout.write(
              now.status === 'done'
                ? `${projection.name}: ${streamId} rebuilt from ${now.events} events at position ${now.position}\n`
                : `${projection.name}: ${streamId} not rebuilt: ${now.error}\n`,
            );
            return now.status === 'done' ? 0 : 1;
          }
          await sleep(200);
        }
      }
      if (!rebuildsBeside(projection)) {
        process.stderr.write(
          `${projection.name} keeps no tables of its own to build beside; bump its version instead\n`,
        );
        return 2;
      }
      const asked = await requestRebuild(runtime.pool, projection, null);
      process.stderr.write(
        asked === 'requested'
          ? `${projection.name}: rebuild asked for\n`
          : `${projection.name}: a rebuild is already asked for or running\n`,
      );
      return args.includes('--no-wait') ? 0 : followRebuild(runtime, projection.name);
    }
    case 'parked': {
      const projection = args[0] === undefined ? undefined : named(args[0]);
      if (args[0] !== undefined && !projection) return 2;
      const events = await parkedEvents(runtime.pool, {
        ...(projection ? { projection: projection.name } : {}),
        open: true,
        after: null,
        limit: 1000,
      });
      process.stdout.write(events.length === 0 ? 'no parked events\n' : `${events.map(describeParked).join('\n')}\n`);
      return 0;
    }
    case 'retry':
    case 'skip': {
      const id = args[0];
      if (!id || !UUID.test(id)) {
        process.stderr.write(`${PROJECTIONS_USAGE}\n`);
        return 2;
      }
      const asked = await requestParked(runtime.pool, id, command, null);
      if (!asked) {
        process.stderr.write(`no parked event has the id ${id}\n`);
        return 1;
      }
      if (asked.status !== command) {
        process.stderr.write(`this event is ${asked.status}, not waiting\n`);
        return 1;
      }
      const deadline = Date.now() + 30_000;
      let now: ParkedEvent | null = asked;
      while (now?.status === command && Date.now() < deadline) {
        await sleep(200);
        now = await parkedEvent(runtime.pool, id);
      }
      process.stdout.write(`${describeParked(now ?? asked)}\n`);
      return now?.status === 'retried' || now?.status === 'skipped' || now?.status === 'retrying' ? 0 : 1;
    }
    default:
      process.stderr.write(`${PROJECTIONS_USAGE}\n`);
      return 2;
  }
}

export async function projectionsCommand(command: string | undefined, args: string[]): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    // As an API process: no warehouse of its own (chDB lets one process own its files), no workers.
    config = loadConfig({ PG_POOL_SIZE: '2', ...process.env, ROOMLINE_PROCESS: 'api' });
  } catch (error) {
    process.stderr.write(`projections: ${(error as Error).message}\n`);
    return 2;
  }
  const runtime = await createRuntime(config, pino({ level: process.env.LOG_LEVEL ?? 'silent' }));
  try {
    return await run(runtime, command ?? '', args);
  } catch (error) {
    process.stderr.write(`projections: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await runtime.close();
  }
}
