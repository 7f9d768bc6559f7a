import { type Queue, Worker } from 'bullmq';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  type BookingSweepQueries,
  completeFinishedStays,
  expireOverdueHolds,
  markOverduePayments,
  publishDueReviews,
  releaseAbandonedHolds,
} from '../commands/bookingSweeps.js';
import type { StreamSnapshots } from '../commands/snapshots.js';
import type { Clock } from '../infra/clock/clock.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import type { FileStore } from '../infra/fileStore/fileStore.js';
import { type QueueConnection, QueueNames } from '../infra/queues/queues.js';
import { fileReferencesNotTrusted, referencedFileKeys } from '../projections/rooms/fileReferences.js';

/** The jobs of the `maintenance` queue. */
export const MaintenanceJobs = {
  purgeIdempotencyKeys: 'purge-idempotency-keys',
  /** Deletes refresh tokens, sessions and password-reset tokens a day past their end. */
  purgeExpiredSessions: 'purge-expired-sessions',
  /** Deletes the process managers' records of effects older than 30 days. */
  purgeProcessEffects: 'purge-process-effects',
  /** Deletes stored files (photos) nothing refers to any more, a day after they were stored. */
  purgeUnreferencedFiles: 'purge-unreferenced-files',
  /**
   * Expire bookings whose hold ran out, complete stays past check-out, mark unpaid balances overdue: the sweep
   * behind the delayed jobs, so nothing depends on a job Redis lost.
   */
  sweepBookings: 'sweep-bookings',
} as const;

export type MaintenanceJobName = (typeof MaintenanceJobs)[keyof typeof MaintenanceJobs];

const HOUR_MS = 60 * 60 * 1000;

/** Deletes HTTP idempotency keys older than 24 hours (past the window in which a client may retry). */
export async function purgeExpiredIdempotencyKeys(pool: pg.Pool, now: Date): Promise<number> {
  const result = await pool.query(
    "DELETE FROM idempotency_keys WHERE created_at < $1::timestamptz - interval '24 hours'",
    [now],
  );
  return result.rowCount ?? 0;
}

/**
 * Deletes what the identity context keeps of sessions once it can no longer matter: refresh tokens and
 * families a day past their expiry (a reused token that old is refused as expired anyway), and reset
 * tokens a day after they were used or expired. Returns the rows deleted.
 */
export async function purgeExpiredSessions(pool: pg.Pool, now: Date): Promise<number> {
  const { rows } = await pool.query<{ deleted: string }>(
    `WITH tokens AS (
       DELETE FROM refresh_tokens WHERE expires_at < $1::timestamptz - interval '1 day' RETURNING 1
     ), families AS (
       DELETE FROM refresh_families f WHERE f.expires_at < $1::timestamptz - interval '1 day'
          AND NOT EXISTS (
            SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id AND t.expires_at >= $1::timestamptz - interval '1 day'
          )
       RETURNING 1
     ), resets AS (
       DELETE FROM password_reset_tokens WHERE coalesce(used_at, expires_at) < $1::timestamptz - interval '1 day'
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM tokens) + (SELECT count(*) FROM families) + (SELECT count(*) FROM resets) AS deleted`,
    [now],
  );
  return Number(rows[0]?.deleted ?? 0);
}

/**
 * Forgets process-manager effects done more than 30 days ago. A replay that old still repeats nothing that
 * matters: its commands are idempotent in the deciders, its timers are no-ops once their deadline passed, and
 * notices older than a day are not sent (commands/bookingProcess.ts).
 */
export async function purgeOldProcessEffects(pool: pg.Pool, now: Date): Promise<number> {
  const result = await pool.query("DELETE FROM process_effects WHERE done_at < $1::timestamptz - interval '30 days'", [
    now,
  ]);
  return result.rowCount ?? 0;
}

export interface FilePurgeDeps {
  pool: pg.Pool;
  fileStore: FileStore;
  /**
   * The store's head: with it, nothing is deleted until the file references have applied every event up to the
   * head as it was when the purge began (the worker always gives it).
   */
  headPosition?: () => Promise<bigint>;
  /** Told why a run deleted nothing because the references could not be trusted. */
  onSkipped?: (reason: string) => void;
}

/**
 * Deletes the stored files no event refers to now (projections/rooms/fileReferences.ts: photos and thumbnails
 * from the event that adds them until the one that removes them) and that were stored more than `graceMs` ago
 * (default a day): photos removed from their room, uploads whose command was refused. The grace period covers
 * files whose event is recorded or applied after the purge read the references.
 *
 * It never reads a read model that a rebuild empties: the file references are never emptied (a rebuild replays
 * over them), and while they are being built, failing, parked or behind the head, nothing is deleted.
 */
export async function purgeUnreferencedFiles(
  deps: FilePurgeDeps,
  // The worker passes its clock's time; the default serves callers that have no clock (tests of the routes).
  now = new Date(),
  graceMs = 24 * HOUR_MS,
): Promise<number> {
  const head = await deps.headPosition?.();
  const notTrusted = await fileReferencesNotTrusted(deps.pool, head);
  if (notTrusted) {
    deps.onSkipped?.(notTrusted);
    return 0;
  }
  const referenced = await referencedFileKeys(deps.pool);
  let deleted = 0;
  for await (const file of deps.fileStore.list()) {
    if (referenced.has(file.key) || now.getTime() - file.storedAt.getTime() < graceMs) continue;
    await deps.fileStore.delete(file.key);
    deleted++;
  }
  return deleted;
}

/**
 * Registers the hourly maintenance jobs. A job scheduler is one record per id, so every process may call this
 * at start-up: the schedule is replaced, never doubled. The first run is due at once.
 */
export async function scheduleMaintenance(
  queue: Queue,
  options: { bookings: boolean; files?: boolean } = { bookings: false },
): Promise<void> {
  if (options.files) {
    await queue.upsertJobScheduler(
      MaintenanceJobs.purgeUnreferencedFiles,
      { every: 24 * HOUR_MS },
      { name: MaintenanceJobs.purgeUnreferencedFiles, data: {} },
    );
  }
  await queue.upsertJobScheduler(
    MaintenanceJobs.purgeIdempotencyKeys,
    { every: HOUR_MS },
    { name: MaintenanceJobs.purgeIdempotencyKeys, data: {} },
  );
  await queue.upsertJobScheduler(
    MaintenanceJobs.purgeExpiredSessions,
    { every: HOUR_MS },
    { name: MaintenanceJobs.purgeExpiredSessions, data: {} },
  );
  if (options.bookings) {
    await queue.upsertJobScheduler(
      MaintenanceJobs.purgeProcessEffects,
      { every: 24 * HOUR_MS },
      { name: MaintenanceJobs.purgeProcessEffects, data: {} },
    );
    await queue.upsertJobScheduler(
      MaintenanceJobs.sweepBookings,
      { every: 60_000 },
      { name: MaintenanceJobs.sweepBookings, data: {} },
    );
  }
}

export interface MaintenanceWorkerDeps {
  at: QueueConnection;
  /** Every job reads the time from it; SQL compares with that time, never with the database's. */
  clock: Clock;
  pool: pg.Pool;
  logger: Logger;
  /** Needed by the booking sweep, which runs commands on candidates from the read models. */
  bookings?: { eventStore: EventStore; queries: BookingSweepQueries; snapshots?: StreamSnapshots };
  /** Needed by the clean-up of unreferenced files. */
  files?: { fileStore: FileStore; headPosition: () => Promise<bigint> };
}

type MaintenanceResult =
  | { deleted: number }
  | { expired: number; completed: number; overdue: number; released: number; reviewsPublished: number }
  | { filesDeleted: number };

export function createMaintenanceWorker(deps: MaintenanceWorkerDeps): Worker<unknown, MaintenanceResult> {
  const log = deps.logger.child({ worker: QueueNames.maintenance });
  const worker = new Worker<unknown, MaintenanceResult>(
    QueueNames.maintenance,
    async (job) => {
      const name = job.name as MaintenanceJobName;
      const now = deps.clock.now();
      switch (name) {
        case MaintenanceJobs.purgeIdempotencyKeys: {
          const deleted = await purgeExpiredIdempotencyKeys(deps.pool, now);
          log.info({ jobId: job.id, deleted }, 'expired idempotency keys deleted');
          return { deleted };
        }
        case MaintenanceJobs.purgeExpiredSessions: {
          const deleted = await purgeExpiredSessions(deps.pool, now);
          log.info({ jobId: job.id, deleted }, 'expired sessions and reset tokens deleted');
          return { deleted };
        }
        case MaintenanceJobs.purgeProcessEffects: {
          const deleted = await purgeOldProcessEffects(deps.pool, now);
          log.info({ jobId: job.id, deleted }, 'old process effects forgotten');
          return { deleted };
        }
        case MaintenanceJobs.purgeUnreferencedFiles: {
          if (!deps.files) throw new Error('the file clean-up needs the file store');
          const filesDeleted = await purgeUnreferencedFiles(
            {
              pool: deps.pool,
              ...deps.files,
              onSkipped: (reason) => log.warn({ jobId: job.id, reason }, 'file clean-up skipped: nothing deleted'),
            },
            now,
          );
          log.info({ jobId: job.id, filesDeleted }, 'unreferenced files deleted');
          return { filesDeleted };
        }
        case MaintenanceJobs.sweepBookings: {
          if (!deps.bookings) throw new Error('the booking sweep needs the event store');
          const sweepDeps = {
            store: deps.bookings.eventStore,
            queries: deps.bookings.queries,
            snapshots: deps.bookings.snapshots,
          };
          const expired = await expireOverdueHolds(sweepDeps, now);
          const completed = await completeFinishedStays(sweepDeps, now);
          const overdue = await markOverduePayments(sweepDeps, now);
          const released = await releaseAbandonedHolds(sweepDeps, now);
          const reviewsPublished = await publishDueReviews(sweepDeps, now);
          if (expired + completed + overdue + released + reviewsPublished > 0)
            log.info({ jobId: job.id, expired, completed, overdue, released, reviewsPublished }, 'bookings swept');
          return { expired, completed, overdue, released, reviewsPublished };
        }
        default: {
          const unhandled: never = name;
          throw new Error(`unknown maintenance job ${unhandled as string}`);
        }
      }
    },
    { connection: deps.at.connection, prefix: deps.at.prefix, concurrency: 1 },
  );
  worker.on('failed', (job, error) =>
    log.warn(
      { jobId: job?.id, name: job?.name, attemptsMade: job?.attemptsMade, err: error.message },
      'maintenance job failed',
    ),
  );
  worker.on('error', (error) => log.error({ err: error.message }, 'maintenance worker error'));
  return worker;
}
