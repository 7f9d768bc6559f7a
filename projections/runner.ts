import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { Logger } from 'pino';
import type { EventStore, RecordedEvent, Subscription } from '../infra/eventStore/eventStore.js';
import { type PgProjection, TransientProjectionError } from './projection.js';

export type RunnerState = 'starting' | 'active' | 'standby' | 'stopped';

export interface ProjectionRunnerOptions {
  orm: MikroORM;
  store: EventStore;
  /** Connection string for the session that holds the leases (advisory locks). */
  databaseUrl: string;
  projections: readonly PgProjection[];
  logger: Logger;
  /** How often a standby runner tries to take the lease (default 1000 ms). */
  standbyRetryMs?: number;
  /** Attempts of a failing batch before its events are tried one by one and poison ones parked (default 3). */
  attempts?: number;
  retryDelayMs?: number;
  /** Longest pause between retries of a batch that failed as transient (TransientProjectionError; default 5000 ms). */
  transientRetryMaxMs?: number;
  onBatch?: (projection: string, events: number, checkpoint: bigint) => void;
  /** Longest delay of a checkpoint move over events the projection skips (default 100 ms; see `follow`). */
  emptyCheckpointMs?: number;
}

/** A projection being followed: its stored checkpoint, the newest the store passed, its queue of writes. */
interface Following {
  projection: PgProjection;
  subscription: Subscription;
  stored: bigint;
  seen: bigint;
  writes: Promise<void>;
  queued: number;
  failure: unknown;
  /** Events held back for the projection's `lingerMs`, not applied yet, and the checkpoint they reach. */
  lingering: RecordedEvent[];
  lingerTo: bigint;
  lingerTimer: NodeJS.Timeout | undefined;
}

/** The subscription's batch when a projection names none (the event store's default). */
const DEFAULT_BATCH = 500;

/** Thrown when the checkpoint moved under us: another runner holds the projection. */
class LostLease extends Error {}

/** A stable 32-bit key per projection name for `pg_try_advisory_lock(ns, key)`. */
export function leaseKey(name: string): number {
  let hash = 0;
  for (const char of name) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
}
export const LEASE_NAMESPACE = 7246100;

/**
 * Runs PostgreSQL projections. One active runner per projection across processes: the runner that
 * holds the projection's session advisory lock works, the others wait on standby and take over when
 * its connection goes (a crashed process releases its locks). The checkpoint update is also fenced
 * on the previous position, so two runners can never both apply a batch.
 */
export class ProjectionRunner {
  private lockClient: pg.Client | undefined;
  private readonly states = new Map<string, RunnerState>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly loops: Promise<void>[] = [];
  private stopping = false;
  private readonly sleepers = new Set<() => void>();
  private readonly following = new Map<string, Following>();
  private deferred: NodeJS.Timeout | undefined;

  constructor(private readonly options: ProjectionRunnerOptions) {
    for (const projection of options.projections) this.states.set(projection.name, 'starting');
  }

  state(name: string): RunnerState | undefined {
    return this.states.get(name);
  }

  async start(): Promise<void> {
    await this.connectLockClient();
    for (const projection of this.options.projections) this.loops.push(this.loop(projection));
  }

  private async connectLockClient(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: 'roomline-projector-lease',
    });
    client.on('error', (error) => {
      // Losing the session loses every lease: stop applying; the loops take them again when they can.
      this.options.logger.warn({ err: error.message }, 'projection lease connection lost');
      if (this.lockClient === client) this.lockClient = undefined;
      for (const subscription of this.subscriptions.values()) void subscription.close();
    });
    await client.connect();
    this.lockClient = client;
  }

  /** The lease session runs one query at a time; the projection loops take turns on it. */
  private leaseQueue: Promise<unknown> = Promise.resolve();

  private onLeaseSession<T>(work: () => Promise<T>): Promise<T> {
    const next = this.leaseQueue.then(work, work);
    this.leaseQueue = next.catch(() => undefined);
    return next;
  }

  private tryLease(projection: PgProjection): Promise<boolean> {
    return this.onLeaseSession(() => this.tryLeaseNow(projection));
  }

  private async tryLeaseNow(projection: PgProjection): Promise<boolean> {
    if (!this.lockClient) {
      try {
        await this.connectLockClient();
      } catch {
        return false;
      }
    }
    const { rows } = await this.lockClient!.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
      LEASE_NAMESPACE,
      leaseKey(projection.name),
    ]);
    return rows[0]?.ok === true;
  }

  private async releaseLease(projection: PgProjection): Promise<void> {
    await this.onLeaseSession(async () => {
      await this.lockClient?.query('SELECT pg_advisory_unlock($1, $2)', [LEASE_NAMESPACE, leaseKey(projection.name)]);
    }).catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private async loop(projection: PgProjection): Promise<void> {
    const { logger } = this.options;
    while (!this.stopping) {
      let leased = false;
      try {
        leased = await this.tryLease(projection);
      } catch (error) {
        logger.warn({ projection: projection.name, err: (error as Error).message }, 'could not ask for the lease');
      }
      if (!leased) {
        this.states.set(projection.name, 'standby');
        await this.sleep(this.options.standbyRetryMs ?? 1000);
        continue;
      }
      this.states.set(projection.name, 'active');
      logger.info({ projection: projection.name }, 'projection active');
      try {
        await this.follow(projection);
      } catch (error) {
        if (!(error instanceof LostLease) && !this.stopping) {
          logger.error(
            { projection: projection.name, err: (error as Error).message },
            'projection stopped on an error',
          );
          await this.recordError(projection, error as Error);
          await this.sleep(this.options.retryDelayMs ?? 1000);
        }
      } finally {
        await this.releaseLease(projection);
      }
    }
    this.states.set(projection.name, 'stopped');
  }

  /**
   * Applies each batch with events in one transaction that also moves the checkpoint. A batch with none (the store
   * passed events this projection's filter skips: most appends, for most projections) only moves the checkpoint:
   * that move is deferred, and every projection's deferred move is written together, at most once per
   * `emptyCheckpointMs`, in one statement fenced like the others (see `flushDeferred`). Writing each such move at once
   * cost a transaction per projection per append, which made the projector process the bottleneck of everything
   * downstream. A crash loses at most the deferred moves: the events after a stored checkpoint are read again, and
   * none of them concerns that projection.
   */
  private async follow(projection: PgProjection): Promise<void> {
    const checkpoint = await this.loadCheckpoint(projection);
    const subscription = this.options.store.subscribe({
      fromPosition: checkpoint,
      filter: projection.filter,
      ...(projection.batchSize ? { maxBatchSize: projection.batchSize } : {}),
    });
    const state: Following = {
      projection,
      subscription,
      stored: checkpoint,
      seen: checkpoint,
      writes: Promise.resolve(),
      queued: 0,
      failure: undefined,
      lingering: [],
      lingerTo: checkpoint,
      lingerTimer: undefined,
    };
    this.subscriptions.set(projection.name, subscription);
    this.following.set(projection.name, state);
    // Stopped while this loop was taking its lease or reading its checkpoint: `stop` closed the subscriptions it
    // saw, not this one, which would wait for an event that may never come.
    if (this.stopping) void subscription.close();
    try {
      for await (const batch of subscription) {
        if (this.stopping || state.failure !== undefined) break;
        if (batch.checkpoint <= state.seen) continue;
        state.seen = batch.checkpoint;
        if (state.lingering.length > 0) {
          // Held events go first: whatever follows joins them, and the checkpoint moves with them.
          state.lingering.push(...batch.events);
          state.lingerTo = batch.checkpoint;
          if (state.lingering.length >= (projection.batchSize ?? DEFAULT_BATCH)) await this.applyLingering(state);
          continue;
        }
        if (batch.events.length === 0) {
          this.deferFlush();
          continue;
        }
        if (projection.lingerMs && batch.events.length < (projection.batchSize ?? DEFAULT_BATCH)) {
          state.lingering = [...batch.events];
          state.lingerTo = batch.checkpoint;
          state.lingerTimer = setTimeout(() => void this.applyLingering(state), projection.lingerMs);
          continue;
        }
        await this.applyInTurn(state, batch.events, batch.checkpoint);
      }
      // Stopping: what is held is applied, and the deferred move written, before the lease goes.
      if (state.failure === undefined) await this.applyLingering(state);
      if (state.failure === undefined && state.seen > state.stored) {
        await this.serially(state, async () => {
          await this.moveCheckpointAlone(projection, state.stored, state.seen);
          state.stored = state.seen;
        });
      }
      if (state.failure !== undefined) throw state.failure;
    } finally {
      clearTimeout(state.lingerTimer);
      this.following.delete(projection.name);
      await state.writes;
      this.subscriptions.delete(projection.name);
      await subscription.close();
    }
  }

  /** Applies the events held for `lingerMs` (if any) as one batch, after the writes queued before. */
  private applyLingering(state: Following): Promise<void> {
    clearTimeout(state.lingerTimer);
    state.lingerTimer = undefined;
    if (state.lingering.length === 0) return state.writes;
    const events = state.lingering;
    state.lingering = [];
    return this.applyInTurn(state, events, state.lingerTo);
  }

  /** Applies a batch with the checkpoint it reaches, after the writes queued before it. */
  private applyInTurn(state: Following, events: RecordedEvent[], to: bigint): Promise<void> {
    return this.serially(state, async () => {
      state.stored = await this.applyBatch(state.projection, events, state.stored, to);
      this.options.onBatch?.(state.projection.name, events.length, state.stored);
    });
  }

  /** A projection's checkpoint writes, one after another, so each is fenced on the one before. */
  private serially(state: Following, work: () => Promise<void>): Promise<void> {
    state.queued++;
    state.writes = state.writes.then(async () => {
      try {
        if (state.failure === undefined) await work();
      } catch (error) {
        state.failure = error;
        void state.subscription.close();
      } finally {
        state.queued--;
      }
    });
    return state.writes;
  }

  private deferFlush(): void {
    this.deferred ??= setTimeout(() => {
      this.deferred = undefined;
      void this.flushDeferred();
    }, this.options.emptyCheckpointMs ?? 100);
  }

  /**
   * One statement for every projection whose checkpoint has moved over skipped events only and that has no write of
   * its own queued (those come again at the next flush): each row fenced on the checkpoint it replaces, so a
   * projection whose lease another runner took is told, as a lost lease, and stops.
   */
  private async flushDeferred(): Promise<void> {
    // Never past events held back: their batch moves the checkpoint when it is applied.
    const due = [...this.following.values()].filter(
      (state) =>
        state.seen > state.stored && state.queued === 0 && state.failure === undefined && state.lingering.length === 0,
    );
    if (due.length < [...this.following.values()].filter((state) => state.seen > state.stored).length) {
      this.deferFlush();
    }
    if (due.length === 0) return;
    const moves = due.map((state) => ({ state, from: state.stored, to: state.seen }));
    let release!: () => void;
    const written = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (const { state } of moves) void this.serially(state, () => written);
    try {
      const moved = await this.options.orm.em.fork().execute<Array<{ name: string }>>(
        `UPDATE projection_checkpoints AS c SET position = m.position, updated_at = now(), last_error = NULL
           FROM json_to_recordset(?::json) AS m(name text, previous bigint, position bigint)
          WHERE c.name = m.name AND c.position = m.previous
        RETURNING c.name`,
        [
          JSON.stringify(
            moves.map((m) => ({
              name: m.state.projection.name,
              previous: m.from.toString(),
              position: m.to.toString(),
            })),
          ),
        ],
      );
      const names = new Set(moved.map((row) => row.name));
      for (const { state, to } of moves) {
        if (names.has(state.projection.name)) {
          state.stored = to;
          this.options.onBatch?.(state.projection.name, 0, to);
        } else {
          state.failure = new LostLease(`${state.projection.name}: checkpoint moved by another runner`);
          void state.subscription.close();
        }
      }
    } catch (error) {
      // Not written (the database away): tried again at the next flush.
      this.options.logger.warn({ err: (error as Error).message }, 'deferred checkpoint moves not written');
      this.deferFlush();
    } finally {
      release();
    }
  }

  private async moveCheckpointAlone(projection: PgProjection, from: bigint, to: bigint): Promise<void> {
    const result = await this.options.orm.em
      .fork()
      .execute<{ affectedRows: number }>(
        'UPDATE projection_checkpoints SET position = ?, updated_at = now(), last_error = NULL WHERE name = ? AND position = ?',
        [to.toString(), projection.name, from.toString()],
        'run',
      );
    if (result.affectedRows !== 1) throw new LostLease(`${projection.name}: checkpoint moved by another runner`);
  }

  /** The stored checkpoint; a changed version empties the read model and starts from the beginning. */
  private async loadCheckpoint(projection: PgProjection): Promise<bigint> {
    const em = this.options.orm.em.fork();
    return em.transactional(async (tx) => {
      await tx.execute(
        'INSERT INTO projection_checkpoints (name, version, position) VALUES (?, ?, 0) ON CONFLICT (name) DO NOTHING',
        [projection.name, projection.version],
      );
      const [row] = await tx.execute<Array<{ version: number; position: string }>>(
        'SELECT version, position FROM projection_checkpoints WHERE name = ? FOR UPDATE',
        [projection.name],
      );
      if (row && row.version === projection.version) return BigInt(row.position);
      this.options.logger.info(
        { projection: projection.name, from: row?.version, to: projection.version },
        'rebuilding projection',
      );
      await projection.reset(tx);
      await tx.execute(
        'UPDATE projection_checkpoints SET version = ?, position = 0, last_error = NULL, updated_at = now() WHERE name = ?',
        [projection.version, projection.name],
      );
      await tx.execute('DELETE FROM projection_parked WHERE projection = ?', [projection.name]);
      return 0n;
    });
  }

  private async applyBatch(
    projection: PgProjection,
    events: RecordedEvent[],
    from: bigint,
    to: bigint,
  ): Promise<bigint> {
    const attempts = this.options.attempts ?? 3;
    let transientFailures = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.commit(projection, events, from, to);
        return to;
      } catch (error) {
        if (error instanceof LostLease || this.stopping) throw error;
        // A dependency away (Redis): not the events' fault. Retried until it goes through, never parked.
        if (error instanceof TransientProjectionError) {
          transientFailures++;
          if (transientFailures === 1) await this.recordError(projection, error);
          this.options.logger.warn(
            { projection: projection.name, failures: transientFailures, err: error.message },
            'projection batch failed on a transient error; retrying',
          );
          const base = this.options.retryDelayMs ?? 200;
          await this.sleep(
            Math.min(this.options.transientRetryMaxMs ?? 5000, base * 2 ** Math.min(transientFailures, 10)),
          );
          attempt--;
          continue;
        }
        if (attempt < attempts) {
          await this.sleep((this.options.retryDelayMs ?? 200) * attempt);
          continue;
        }
        if (events.length === 0) throw error;
        return this.applyOneByOne(projection, events, from, to);
      }
    }
  }

  /** Isolates poison events: each event alone, a failing one parked with its error and skipped. */
  private async applyOneByOne(
    projection: PgProjection,
    events: RecordedEvent[],
    from: bigint,
    to: bigint,
  ): Promise<bigint> {
    let checkpoint = from;
    for (const event of events) {
      try {
        await this.commit(projection, [event], checkpoint, event.position);
      } catch (error) {
        if (error instanceof LostLease) throw error;
        this.options.logger.error(
          {
            projection: projection.name,
            position: event.position.toString(),
            type: event.type,
            err: (error as Error).message,
          },
          'parking an event the projection cannot apply',
        );
        await this.park(projection, event, error as Error, checkpoint);
      }
      checkpoint = event.position;
    }
    await this.commit(projection, [], checkpoint, to);
    return to;
  }

  private async commit(
    projection: PgProjection,
    events: readonly RecordedEvent[],
    from: bigint,
    to: bigint,
  ): Promise<void> {
    if (projection.sideEffectsOnly) {
      if (events.length > 0) await projection.apply(this.options.orm.em.fork(), events);
      await this.moveCheckpointAlone(projection, from, to);
      return;
    }
    const em = this.options.orm.em.fork();
    await em.transactional(async (tx) => {
      if (events.length > 0) {
        await projection.apply(tx, events);
        await tx.flush();
      }
      await this.moveCheckpoint(tx, projection, from, to);
    });
  }

  private async moveCheckpoint(tx: EntityManager, projection: PgProjection, from: bigint, to: bigint): Promise<void> {
    const result = await tx.execute<{ affectedRows: number }>(
      'UPDATE projection_checkpoints SET position = ?, updated_at = now(), last_error = NULL WHERE name = ? AND position = ?',
      [to.toString(), projection.name, from.toString()],
      'run',
    );
    if (result.affectedRows !== 1) throw new LostLease(`${projection.name}: checkpoint moved by another runner`);
  }

  private async park(projection: PgProjection, event: RecordedEvent, error: Error, checkpoint: bigint): Promise<void> {
    const em = this.options.orm.em.fork();
    await em.transactional(async (tx) => {
      await tx.execute(
        `INSERT INTO projection_parked (projection, position, event_id, stream_id, type, error)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [
          projection.name,
          event.position.toString(),
          event.eventId,
          event.streamId,
          event.type,
          error.message.slice(0, 2000),
        ],
      );
      await this.moveCheckpoint(tx, projection, checkpoint, event.position);
    });
  }

  private async recordError(projection: PgProjection, error: Error): Promise<void> {
    await this.options.orm.em
      .fork()
      .execute('UPDATE projection_checkpoints SET last_error = ?, updated_at = now() WHERE name = ?', [
        error.message.slice(0, 2000),
        projection.name,
      ])
      .catch(() => undefined);
  }

  /** Finishes the batch in flight, closes subscriptions and releases every lease. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.deferred);
    this.deferred = undefined;
    for (const wake of [...this.sleepers]) wake();
    await Promise.all([...this.subscriptions.values()].map((s) => s.close()));
    await Promise.all(this.loops);
    await this.lockClient?.end().catch(() => undefined);
    this.lockClient = undefined;
  }
}
