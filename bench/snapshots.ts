/**
 * Room calendar snapshots: `npm run bench:snapshots`.
 *
 * One room calendar of BENCH_EVENTS events (default 10,000: holds, confirmations and releases of single-night
 * bookings), appended straight through the store in batches. Then, each BENCH_SAMPLES times (default 15), side by
 * side in one run on one database:
 *   - read only: the stream read with no fold (what any load costs at least, the plain ceiling of a full load);
 *   - full fold: `loadState` without snapshots, as every command did before;
 *   - snapshot, cold: `loadState` from the stored snapshot (read from PostgreSQL) and the events after it;
 *   - snapshot, cached: the same with the snapshot in the process's cache (the usual case);
 *   - a command (hold a free night, then release it) without and with snapshots;
 *   - taking a snapshot (encode and upsert).
 * Writes bench/results/snapshots-<time>.md and snapshots-latest.md (BENCH_WRITE=0: print only).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { type CommandEnvelope, handleCommand, systemEnvelope } from '../commands/handleCommand.js';
import { loadState, readHistory } from '../commands/loadState.js';
import { StreamSnapshots } from '../commands/snapshots.js';
import { type CalendarCommand, calendarDecider, calendarStreamId } from '../domain/bookings/calendar.js';
import { dateOfDay, dayNumber } from '../domain/shared/values.js';
import { prepareDatabase } from '../infra/db/prepare.js';
import type { NewEvent } from '../infra/eventStore/eventStore.js';
import { PostgresEventStore } from '../infra/eventStore/postgres/postgresEventStore.js';
import { PostgresSnapshotStore } from '../infra/snapshots/postgresSnapshotStore.js';
import {
  createBenchDatabase,
  formatNumber,
  markdownTable,
  median,
  nowMs,
  percentile,
  publishReport,
  runBenchmark,
} from './support.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 15);

runBenchmark(async () => {
  const db = await createBenchDatabase(`roomline_bench_snapshots_${process.pid}`);
  await prepareDatabase(db.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const store = new PostgresEventStore({ pool, connectionString: db.url, pollIntervalMs: 60_000 });
  const snapshotStore = new PostgresSnapshotStore(pool);
  try {
    const roomId = randomUUID();
    const streamId = calendarStreamId(roomId);
    const today = dayNumber(new Date().toISOString().slice(0, 10));
    const now = new Date().toISOString();
    const metadata = {
      correlationId: randomUUID(),
      causationId: null,
      actorId: 'system',
      actorRole: 'system',
      requestId: null,
      occurredAt: now,
    };
    const event = (type: string, data: unknown, schemaVersion = 1): NewEvent => ({
      eventId: randomUUID(),
      type,
      schemaVersion,
      data,
      metadata,
    });

    // A night each; 3 in 10 confirmed (stays the calendar keeps), the rest released again.
    const generated = nowMs();
    const pending: NewEvent[] = [];
    let appended = 0;
    let night = 0;
    let revision: bigint | 'no_stream' = 'no_stream';
    while (appended + pending.length < EVENTS) {
      const bookingId = randomUUID();
      const nights = [dateOfDay(today + 1 + (night % 3650))];
      const confirmed = Math.random() < 0.3;
      if (confirmed) night++;
      pending.push(
        event(
          'NightsHeld',
          { bookingId, nights, heldAt: now, expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
          2,
        ),
      );
      pending.push(
        confirmed
          ? event('HoldConfirmed', { bookingId, nights, confirmedAt: now })
          : event('NightsReleased', { bookingId, nights, releasedAt: now }),
      );
      if (pending.length >= 500) {
        revision = (await store.append(streamId, pending.splice(0), { expectedRevision: revision }))
          .nextExpectedRevision;
        appended += 500;
      }
    }
    if (pending.length) appended += pending.length;
    if (pending.length) await store.append(streamId, pending.splice(0), { expectedRevision: revision });
    const generatedMs = nowMs() - generated;
    const free = dateOfDay(today + 3651);

    const envelope = (): CommandEnvelope => systemEnvelope(new Date().toISOString());
    const command = (type: 'HoldNights' | 'ReleaseNights', bookingId: string): CalendarCommand => {
      const context = { actorId: 'system', actorRole: 'system' as const, now: new Date().toISOString() };
      return type === 'HoldNights'
        ? {
            type,
            data: {
              bookingId,
              checkIn: free,
              checkOut: dateOfDay(today + 3652),
              expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
              roomBlocked: [],
            },
            context,
          }
        : { type, data: { bookingId }, context };
    };
    const holdAndRelease = async (snapshots?: StreamSnapshots) => {
      const bookingId = randomUUID();
      for (const type of ['HoldNights', 'ReleaseNights'] as const) {
        await handleCommand(store, streamId, calendarDecider, command(type, bookingId), envelope(), { snapshots });
      }
    };

    const cached = new StreamSnapshots({ store: snapshotStore, every: 100 });
    await loadState(store, streamId, calendarDecider); // warm PostgreSQL's caches first
    await holdAndRelease(cached); // takes the first snapshot
    const samples: Record<string, number[]> = {};
    const time = async (name: string, run: () => Promise<unknown>) => {
      const began = nowMs();
      await run();
      samples[name] = [...(samples[name] ?? []), nowMs() - began];
    };
    for (let i = 0; i < SAMPLES; i++) {
      await time('read only (no fold)', () => readHistory(store, streamId));
      await time('full fold', () => loadState(store, streamId, calendarDecider));
      await time('snapshot, cold (read from PostgreSQL)', () =>
        loadState(store, streamId, calendarDecider, new StreamSnapshots({ store: snapshotStore, every: 100 })),
      );
      await time('snapshot, cached', () => loadState(store, streamId, calendarDecider, cached));
      await time('command (hold + release), full fold', () => holdAndRelease());
      await time('command (hold + release), snapshot', () => holdAndRelease(cached));
      const { state, revision: at } = await loadState(store, streamId, calendarDecider, cached);
      await time('taking a snapshot', () =>
        snapshotStore.write({
          streamId,
          revision: at!,
          version: calendarDecider.snapshot!.version,
          state: calendarDecider.snapshot!.encode(state),
        }),
      );
    }
    const full = median(samples['full fold']!);
    const rows = Object.entries(samples).map(([name, ms]) => [
      name,
      formatNumber(median(ms), 1),
      formatNumber(percentile(ms, 95), 1),
      formatNumber(full / median(ms), 1),
    ]);
    const stored = await snapshotStore.read(streamId);
    const report = [
      `# bench:snapshots, ${new Date().toISOString()}`,
      '',
      `One room calendar of ${formatNumber(appended)} events (single-night holds, 3 in 10 confirmed, the rest released), ${formatNumber(Object.keys((stored!.state as { held: object }).held).length)} nights held in its state; ${SAMPLES} samples of each case, interleaved. Snapshot every 100 events. Appended in ${formatNumber(generatedMs / 1000, 1)} s.`,
      `Machine: ${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} at the end, Node ${process.version}. Shared machine: compare rows of one run only.`,
      '',
      markdownTable(['case', 'median ms', 'p95 ms', 'full fold / case'], rows),
      '',
    ].join('\n');
    await publishReport('snapshots', report);
  } finally {
    await store.close();
    await pool.end();
    await db.drop();
  }
});
