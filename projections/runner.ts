import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { Logger } from 'pino';
import {
  type EventStore,
  matchesFilter,
  type RecordedEvent,
  type Subscription,
  toArray,
} from '../infra/eventStore/eventStore.js';
import { type PgProjection, rebuildsBeside, TransientProjectionError } from './projection.js';
import { createShadow, dropShadow, swapIn, writeToShadow } from './shadowTables.js';

export type RunnerState = 'starting' | 'active' | 'standby' | 'paused' | 'rebuilding' | 'stopped_at_parked' | 'stopped';

/** The channel an API process notifies after it asks something of the runners (projections/operations.ts). */
export const OPERATIONS_CHANNEL = 'projection_operations';

export interface ProjectionRunnerOptions {
  orm: MikroORM;
  store: EventStore;
  /**
   * The same events as stored, not opened (the composition root's raw store), for projections that read only their
   * envelope (`reads: 'stored'`); without it they read through `store`, which gives them the same envelopes.
   */
  storedEvents?: EventStore;
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
  /** How often the runner reads what support asked (pause, rebuilds, parked events) besides being notified (default 1000 ms). */
  controlPollMs?: number;
  /** Events a blue/green rebuild applies to the shadow tables in one transaction (default 2000). */
  rebuildBatchSize?: number;
}

/** A blue/green rebuild this runner is making: where its shadow tables are, and whether it was called off. */
interface Rebuild {
  projection: PgProjection;
  /** For a projection with `copies`: the instance that writes into them. */
  copy?: PgProjection;
  position: bigint;
  applied: number;
  cancelled: boolean;
  /** Caught up: the next time the projection is not followed (paused, or interrupted for it), it switches in. */
  ready: boolean;
  /** The replay up to the head, done or failed; the switch waits for it. */
  caughtUp: Promise<void>;
  failure: unknown;
  lastProgressAt: number;
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
  /** Why the runner ended this follow early: support paused it, or a rebuild is ready to switch in. */
  interrupt: 'pause' | 'switch' | undefined;
  /** Positions support skipped at a stop (a `stop` projection), left out of every batch. */
  skipped: Set<bigint>;
  /** Parked events being retried (a `stop` projection): resolved once the checkpoint passes them. */
  retrying: bigint[];
}

/** Thrown by a `stop` projection at a poison event it parked: it waits there for support. */
class StoppedAtParked extends Error {}

/**
 * The most events in one batch when a projection names none. A batch is one transaction, a few reads and a few
 * writes whatever its size, so catching up goes faster in larger ones: bench:rebuild (202,737 events, the 11 read
 * models together) took 32.0 s in batches of 2,000 against 38.5 s in batches of 500, in one session. Live batches are
 * as small as what was appended.
 */
const DEFAULT_BATCH = 2000;

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
  private readonly leased = new Set<string>();
  private readonly rebuilds = new Map<string, Rebuild>();
  /** Stream rebuilds and parked retries queued or running here, by request id: never taken up twice. */
  private readonly inHand = new Set<string>();
  private readonly controlWaiters = new Set<() => void>();
  private controlTimer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private checkAgain = false;

  constructor(private readonly options: ProjectionRunnerOptions) {
    // A projection another process runs (projection.elsewhere) is not this runner's to follow.
    this.options = { ...options, projections: options.projections.filter((projection) => !projection.elsewhere) };
    for (const projection of this.options.projections) this.states.set(projection.name, 'starting');
  }

  state(name: string): RunnerState | undefined {
    return this.states.get(name);
  }

  async start(): Promise<void> {
    await this.connectLockClient();
    for (const projection of this.options.projections) this.loops.push(this.loop(projection));
    this.controlTimer = setInterval(() => this.onOperations(), this.options.controlPollMs ?? 1000);
    this.controlTimer.unref();
  }

  /** Something was asked of the runners (notified, or the poll is due): read it, and wake the loops that wait. */
  private onOperations(): void {
    for (const wake of [...this.controlWaiters]) wake();
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = this.checkControls().finally(() => {
      this.checking = undefined;
      if (this.checkAgain && !this.stopping) {
        this.checkAgain = false;
        this.onOperations();
      }
    });
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
    client.on('notification', () => this.onOperations());
    await client.connect();
    await client.query(`LISTEN ${OPERATIONS_CHANNEL}`);
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

  /** Sleeps until the control poll or a notification, or `ms` at most. */
  private waitForControls(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.controlWaiters.delete(done);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.controlWaiters.add(done);
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
      this.leased.add(projection.name);
      logger.info({ projection: projection.name }, 'projection active');
      try {
        await this.whileLeased(projection);
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
        this.leased.delete(projection.name);
        await this.cancelRebuild(projection.name);
        await this.releaseLease(projection);
      }
    }
    this.states.set(projection.name, 'stopped');
  }

  /**
   * What a runner does with a projection whose lease it holds, until it stops or loses it: follows the store; waits
   * while support has it paused; waits at a parked event of a `stop` projection until support retries or skips it;
   * and switches a rebuilt version in (blue/green) when one is ready, or builds it first when the code's version is
   * not the stored one.
   */
  private async whileLeased(projection: PgProjection): Promise<void> {
    const pollMs = this.options.controlPollMs ?? 1000;
    while (!this.stopping) {
      if (await this.isPaused(projection.name)) {
        this.states.set(projection.name, 'paused');
        await this.waitForControls(pollMs);
        continue;
      }
      if (projection.onPoison === 'stop' && (await this.waitingAtParked(projection))) {
        this.states.set(projection.name, 'stopped_at_parked');
        await this.waitForControls(pollMs);
        continue;
      }
      const stored = await this.storedCheckpoint(projection.name);
      const pending = this.rebuilds.get(projection.name);
      if (pending?.ready && stored) {
        // Caught up while the projection was not followed (paused meanwhile): nothing to interrupt.
        await this.switchIn(pending, stored.position, stored.version);
        continue;
      }
      if (rebuildsBeside(projection) && stored && stored.version !== projection.version && stored.position > 0n) {
        // A new version of a read model that has rows: built beside the old one, which serves meanwhile (stale: the
        // code that kept it current is gone), and switched in once it has caught up. One that failed waits for
        // support to ask again rather than starting over and over.
        this.states.set(projection.name, 'rebuilding');
        if (await this.rebuildFailed(projection)) {
          await this.waitForControls(pollMs);
          continue;
        }
        const rebuild = this.startRebuild(projection, null);
        await rebuild.caughtUp;
        if (rebuild.failure !== undefined) continue;
        await this.switchIn(rebuild, stored.position, stored.version);
        continue;
      }
      this.states.set(projection.name, 'active');
      let state: Following;
      try {
        state = await this.follow(projection);
      } catch (error) {
        if (!(error instanceof StoppedAtParked)) throw error;
        await this.recordError(projection, error);
        continue;
      }
      if (state.interrupt === 'switch') {
        const rebuild = this.rebuilds.get(projection.name);
        if (rebuild && rebuild.failure === undefined) await this.switchIn(rebuild, state.stored, projection.version);
      }
    }
  }

  private async rebuildFailed(projection: PgProjection): Promise<boolean> {
    const [row] = await this.options.orm.em
      .fork()
      .execute<Array<{ status: string; version: number }>>(
        'SELECT status, version FROM projection_rebuilds WHERE name = ?',
        [projection.name],
      );
    return row?.status === 'failed' && row.version === projection.version;
  }

  private async isPaused(name: string): Promise<boolean> {
    const [row] = await this.options.orm.em
      .fork()
      .execute<Array<{ paused: boolean }>>('SELECT paused FROM projection_controls WHERE name = ?', [name]);
    return row?.paused === true;
  }

  private async storedCheckpoint(name: string): Promise<{ version: number; position: bigint } | undefined> {
    const [row] = await this.options.orm.em
      .fork()
      .execute<Array<{ version: number; position: string }>>(
        'SELECT version, position FROM projection_checkpoints WHERE name = ?',
        [name],
      );
    return row ? { version: row.version, position: BigInt(row.position) } : undefined;
  }

  /**
   * A `stop` projection held at a parked event: true while one waits for support. A retry asked for marks it
   * retrying (the next follow applies it again), a skip marks it skipped (the next follow leaves it out).
   */
  private async waitingAtParked(projection: PgProjection): Promise<boolean> {
    const em = this.options.orm.em.fork();
    await em.execute(
      `UPDATE projection_parked SET status = CASE status WHEN 'retry' THEN 'retrying' ELSE 'skipped' END,
              resolved_at = CASE status WHEN 'skip' THEN now() ELSE resolved_at END
        WHERE projection = ? AND status IN ('retry', 'skip')`,
      [projection.name],
    );
    const [row] = await em.execute<Array<{ waiting: boolean }>>(
      `SELECT EXISTS (SELECT 1 FROM projection_parked WHERE projection = ? AND status = 'parked') AS waiting`,
      [projection.name],
    );
    return row?.waiting === true;
  }

  /** Where a projection reads its events: opened, or as stored for one that reads only their envelope. */
  private storeOf(projection: PgProjection): EventStore {
    return projection.reads === 'stored' ? (this.options.storedEvents ?? this.options.store) : this.options.store;
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
  private async follow(projection: PgProjection): Promise<Following> {
    const checkpoint = await this.loadCheckpoint(projection);
    const { skipped, retrying } = await this.parkedAtStop(projection, checkpoint);
    const subscription = this.storeOf(projection).subscribe({
      fromPosition: checkpoint,
      filter: projection.filter,
      maxBatchSize: projection.batchSize ?? DEFAULT_BATCH,
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
      interrupt: undefined,
      skipped,
      retrying,
    };
    const overlap = projection.overlapBatches === true && projection.sideEffectsOnly === true;
    this.subscriptions.set(projection.name, subscription);
    this.following.set(projection.name, state);
    // Stopped while this loop was taking its lease or reading its checkpoint: `stop` closed the subscriptions it
    // saw, not this one, which would wait for an event that may never come.
    if (this.stopping) void subscription.close();
    try {
      for await (const batch of subscription) {
        if (this.stopping || state.failure !== undefined || state.interrupt) break;
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
        if (overlap) {
          // This batch's apply starts now, beside the one before it; the next is read once that one is in.
          const before = state.writes;
          void this.applyInTurn(state, batch.events, batch.checkpoint, true);
          await before;
        } else await this.applyInTurn(state, batch.events, batch.checkpoint);
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
    return state;
  }

  /** Ends a follow early; its batches in flight are applied first (as when stopping). */
  private interrupt(state: Following, reason: 'pause' | 'switch'): void {
    state.interrupt ??= reason;
    void state.subscription.close();
  }

  /** A `stop` projection's parked events past its checkpoint that support skipped, and those it asked to retry. */
  private async parkedAtStop(
    projection: PgProjection,
    checkpoint: bigint,
  ): Promise<{ skipped: Set<bigint>; retrying: bigint[] }> {
    if (projection.onPoison !== 'stop') return { skipped: new Set(), retrying: [] };
    const rows = await this.options.orm.em.fork().execute<Array<{ position: string; status: string }>>(
      `SELECT position, status FROM projection_parked
          WHERE projection = ? AND position > ? AND status IN ('skipped', 'retrying')`,
      [projection.name, checkpoint.toString()],
    );
    return {
      skipped: new Set(rows.filter((r) => r.status === 'skipped').map((r) => BigInt(r.position))),
      retrying: rows.filter((r) => r.status === 'retrying').map((r) => BigInt(r.position)),
    };
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

  /**
   * Applies a batch with the checkpoint it reaches, after the writes queued before it. `early` (an `overlapBatches`
   * projection): its first try starts at once, beside the batch before it, and only the checkpoint's move waits its
   * turn; a first try that failed is made again, with the usual retries, in turn.
   */
  private applyInTurn(state: Following, events: RecordedEvent[], to: bigint, early = false): Promise<void> {
    const kept = state.skipped.size > 0 ? events.filter((event) => !state.skipped.has(event.position)) : events;
    const firstTry = early && kept.length > 0 && state.failure === undefined ? this.tryEarly(state, kept) : undefined;
    return this.serially(state, async () => {
      state.stored =
        firstTry !== undefined && (await firstTry)
          ? await this.movedAfter(state.projection, kept, state.stored, to)
          : await this.applyBatch(state.projection, kept, state.stored, to);
      this.options.onBatch?.(state.projection.name, kept.length, state.stored);
      if (state.retrying.some((position) => position <= state.stored)) {
        await this.options.orm.em.fork().execute(
          `UPDATE projection_parked SET status = 'retried', resolved_at = now()
              WHERE projection = ? AND status = 'retrying' AND position <= ?`,
          [state.projection.name, state.stored.toString()],
        );
        state.retrying = state.retrying.filter((position) => position > state.stored);
      }
    });
  }

  /** An overlapped batch's first try: whether it went through (a failure is tried again in turn, and logged there). */
  private tryEarly(state: Following, events: readonly RecordedEvent[]): Promise<boolean> {
    return state.projection.apply(this.options.orm.em.fork(), events).then(
      () => true,
      (error: unknown) => {
        this.options.logger.warn(
          { projection: state.projection.name, err: (error as Error).message },
          'overlapped projection batch failed; trying it again in turn',
        );
        return false;
      },
    );
  }

  /** Moves the checkpoint past a batch whose early try went through; when that move fails, the usual path. */
  private async movedAfter(projection: PgProjection, events: RecordedEvent[], from: bigint, to: bigint) {
    try {
      await this.moveCheckpointAlone(projection, from, to);
      return to;
    } catch (error) {
      if (error instanceof LostLease || this.stopping) throw error;
      return this.applyBatch(projection, events, from, to);
    }
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
        if (projection.onPoison === 'stop') {
          await this.park(projection, event, error as Error, checkpoint, false);
          throw new StoppedAtParked(
            `${projection.name}: stopped at the parked event at position ${event.position}: ${(error as Error).message}`,
          );
        }
        await this.park(projection, event, error as Error, checkpoint, true);
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

  /**
   * Records a poison event with its error (a retry that failed again counts an attempt), and moves the checkpoint
   * past it when the projection goes past parked events (`pass`).
   */
  private async park(
    projection: PgProjection,
    event: RecordedEvent,
    error: Error,
    checkpoint: bigint,
    pass: boolean,
  ): Promise<void> {
    const em = this.options.orm.em.fork();
    await em.transactional(async (tx) => {
      await tx.execute(
        `INSERT INTO projection_parked (projection, position, event_id, stream_id, type, error)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (projection, position) DO UPDATE
           SET error = excluded.error, status = 'parked', attempts = projection_parked.attempts + 1,
               parked_at = now(), resolved_at = NULL`,
        [
          projection.name,
          event.position.toString(),
          event.eventId,
          event.streamId,
          event.type,
          error.message.slice(0, 2000),
        ],
      );
      if (pass) await this.moveCheckpoint(tx, projection, checkpoint, event.position);
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

  /**
   * Reads, in one statement, what support asked of the projections this runner holds: a pause (ends the follow; the
   * loop waits), a rebuild (starts building beside the live tables), a stream's rows to rebuild and a parked event
   * to retry or skip (both in the projection's turn, between its batches, fenced on its checkpoint).
   */
  private async checkControls(): Promise<void> {
    const names = [...this.leased];
    if (names.length === 0 || this.stopping) return;
    let rows: Array<{ kind: string; projection: string; id: string | null; detail: string | null }>;
    try {
      rows = await this.options.orm.em.fork().execute(
        `SELECT 'pause' AS kind, name AS projection, NULL AS id, NULL AS detail
           FROM projection_controls WHERE name = ANY(string_to_array(?, ',')) AND paused
         UNION ALL
         SELECT 'rebuild', name, NULL, NULL FROM projection_rebuilds
          WHERE name = ANY(string_to_array(?, ',')) AND status IN ('requested', 'running')
         UNION ALL
         SELECT 'stream', projection, id::text, stream_id FROM projection_stream_rebuilds
          WHERE projection = ANY(string_to_array(?, ',')) AND status = 'requested'
         UNION ALL
         SELECT 'parked', projection, id::text, status FROM projection_parked
          WHERE projection = ANY(string_to_array(?, ',')) AND status IN ('retry', 'skip')`,
        // Projection names hold no comma (letters, digits and dashes).
        Array(4).fill(names.join(',')),
      );
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'could not read the projection operations');
      return;
    }
    for (const row of rows) {
      const state = this.following.get(row.projection);
      if (!state) continue;
      if (row.kind === 'pause') this.interrupt(state, 'pause');
      else if (row.kind === 'rebuild') {
        if (rebuildsBeside(state.projection) && !this.rebuilds.has(row.projection)) {
          const rebuild = this.startRebuild(state.projection, state);
          void rebuild.caughtUp.then(() => {
            const now = this.following.get(row.projection);
            if (now && rebuild.failure === undefined && !rebuild.cancelled) this.interrupt(now, 'switch');
          });
        }
      } else if (row.id && !this.inHand.has(row.id)) {
        // A `stop` projection's parked events are answered by its loop (waitingAtParked).
        if (row.kind === 'parked' && state.projection.onPoison === 'stop') continue;
        const id = row.id;
        this.inHand.add(id);
        const work =
          row.kind === 'stream' ? this.rebuildStreamRequest(state, id, row.detail!) : this.answerParked(state, id);
        void this.serially(state, () =>
          work().catch((error) =>
            this.options.logger.error({ err: (error as Error).message, id }, 'projection operation failed'),
          ),
        ).finally(() => this.inHand.delete(id));
      }
    }
  }

  /**
   * Builds the projection's read model again in shadow tables beside the live ones (projections/shadowTables.ts),
   * from the first event up to the head, while the live ones go on serving (and, when `live` is given, being kept
   * current). `caughtUp` resolves once it is near the head; `switchIn` then finishes it.
   */
  private startRebuild(projection: PgProjection, live: Following | null): Rebuild {
    const rebuild: Rebuild = {
      projection,
      position: 0n,
      applied: 0,
      cancelled: false,
      ready: false,
      failure: undefined,
      caughtUp: Promise.resolve(),
      lastProgressAt: 0,
    };
    this.rebuilds.set(projection.name, rebuild);
    rebuild.caughtUp = (async () => {
      const em = this.options.orm.em.fork();
      try {
        const target = await this.options.store.headPosition();
        await em.execute(
          `INSERT INTO projection_rebuilds (name, version, status, started_at, updated_at, target_position)
           VALUES (?, ?, 'running', now(), now(), ?)
           ON CONFLICT (name) DO UPDATE SET version = excluded.version, status = 'running',
             requested_by = CASE WHEN projection_rebuilds.status = 'requested' THEN projection_rebuilds.requested_by END,
             started_at = now(), updated_at = now(), finished_at = NULL, target_position = excluded.target_position,
             position = 0, events_applied = 0, error = NULL`,
          [projection.name, projection.version, target.toString()],
        );
        if (projection.copies) rebuild.copy = await projection.copies.create();
        else await createShadow(em, projection.name, projection.tables!);
        this.options.logger.info(
          { projection: projection.name, version: projection.version, target: target.toString(), live: live !== null },
          'rebuilding projection beside the live tables',
        );
        await this.replayIntoShadow(rebuild, 'near');
        rebuild.ready = true;
      } catch (error) {
        rebuild.failure = error;
        if (rebuild.cancelled || this.stopping) return;
        this.options.logger.error(
          { projection: projection.name, err: (error as Error).message },
          'rebuild failed; the live tables stay',
        );
        this.rebuilds.delete(projection.name);
        await em
          .execute(
            `UPDATE projection_rebuilds SET status = 'failed', error = ?, finished_at = now(), updated_at = now()
              WHERE name = ?`,
            [(error as Error).message.slice(0, 2000), projection.name],
          )
          .catch(() => undefined);
        await this.dropCopies(em, projection).catch(() => undefined);
      }
    })();
    return rebuild;
  }

  /**
   * Applies to the shadow tables the events after the rebuild's position, in transactions of `rebuildBatchSize`,
   * up to the settled position: pass after pass until one finds less than a batch (`near`), or one pass (`once`, at
   * the switch, when the live follow has stopped and takes over from there).
   */
  private async replayIntoShadow(rebuild: Rebuild, until: 'near' | 'once'): Promise<void> {
    const { projection } = rebuild;
    // Copies outside PostgreSQL take the projection's own batches (the warehouse wants few, large inserts).
    const size = (projection.copies && projection.batchSize) || (this.options.rebuildBatchSize ?? 2000);
    const skipped = await this.skippedPositions(projection);
    for (;;) {
      const settled = await this.options.store.settledPosition();
      if (settled <= rebuild.position) return;
      let chunk: RecordedEvent[] = [];
      let passed = 0;
      for await (const event of this.storeOf(projection).readAll({
        fromPosition: rebuild.position,
        filter: projection.filter,
      })) {
        if (event.position > settled) break;
        if (!skipped.has(event.position)) chunk.push(event);
        passed++;
        if (chunk.length >= size) {
          await this.applyToShadow(rebuild, chunk, event.position);
          chunk = [];
        }
      }
      await this.applyToShadow(rebuild, chunk, settled);
      if (until === 'once' || passed < size) return;
    }
  }

  private async applyToShadow(rebuild: Rebuild, events: RecordedEvent[], to: bigint): Promise<void> {
    if (rebuild.cancelled || this.stopping) throw new LostLease(`${rebuild.projection.name}: rebuild called off`);
    if (events.length > 0 && rebuild.copy) {
      // Its copies are outside PostgreSQL (the warehouse): no transaction to write them in.
      await rebuild.copy.apply(this.options.orm.em.fork(), events);
    } else if (events.length > 0) {
      await this.options.orm.em.fork().transactional(async (tx) => {
        await writeToShadow(tx, rebuild.projection.name);
        await rebuild.projection.apply(tx, events);
        await tx.flush();
      });
    }
    rebuild.position = to;
    rebuild.applied += events.length;
    if (Date.now() - rebuild.lastProgressAt >= 500) {
      rebuild.lastProgressAt = Date.now();
      await this.options.orm.em.fork().execute(
        `UPDATE projection_rebuilds SET position = ?, events_applied = ?, updated_at = now(),
                  target_position = GREATEST(target_position, ?) WHERE name = ?`,
        [to.toString(), rebuild.applied, to.toString(), rebuild.projection.name],
      );
    }
  }

  /** Positions of a projection's parked events that support skipped: a rebuild leaves them out too. */
  private async skippedPositions(projection: PgProjection): Promise<Set<bigint>> {
    const rows = await this.options.orm.em
      .fork()
      .execute<Array<{ position: string }>>(
        `SELECT position FROM projection_parked WHERE projection = ? AND status = 'skipped'`,
        [projection.name],
      );
    return new Set(rows.map((row) => BigInt(row.position)));
  }

  /**
   * The switch: the live follow has ended (its writes done, checkpoint `from`), the shadow catches up with the last
   * events, and one transaction swaps the tables and sets the checkpoint (fenced on `from` and the version) to where
   * the shadow is. Readers waiting on the swap's lock then read the new tables.
   */
  private async switchIn(rebuild: Rebuild, from: bigint, fromVersion: number): Promise<void> {
    const { projection } = rebuild;
    try {
      await this.replayIntoShadow(rebuild, 'once');
      const em = this.options.orm.em.fork();
      // Copies outside PostgreSQL switch in first, then the checkpoint moves: a crash between the two leaves the
      // new rows under the old checkpoint, whose events the projection applies again idempotently (the warehouse
      // keeps one row per event id and version), and the old version recorded, so the rebuild runs again.
      if (projection.copies) await projection.copies.swapIn();
      await em.transactional(async (tx) => {
        if (!projection.copies) await swapIn(tx, projection.name, projection.tables!);
        const moved = await tx.execute<{ affectedRows: number }>(
          `UPDATE projection_checkpoints SET version = ?, position = ?, last_error = NULL, updated_at = now()
            WHERE name = ? AND position = ? AND version = ?`,
          [projection.version, rebuild.position.toString(), projection.name, from.toString(), fromVersion],
          'run',
        );
        if (moved.affectedRows !== 1) throw new LostLease(`${projection.name}: checkpoint moved by another runner`);
        // Every event the rebuild did not skip went in: what was parked before is applied now.
        await tx.execute(
          `UPDATE projection_parked SET status = 'rebuilt', resolved_at = now()
            WHERE projection = ? AND status IN ('parked', 'retry', 'retrying')`,
          [projection.name],
        );
        await tx.execute(
          `UPDATE projection_rebuilds SET status = 'done', position = ?, events_applied = ?, finished_at = now(),
                  updated_at = now(), target_position = GREATEST(target_position, ?) WHERE name = ?`,
          [rebuild.position.toString(), rebuild.applied, rebuild.position.toString(), projection.name],
        );
      });
      this.options.logger.info(
        { projection: projection.name, version: projection.version, position: rebuild.position.toString() },
        'rebuilt projection switched in',
      );
      await this.dropCopies(em, projection).catch((error) =>
        this.options.logger.warn({ err: (error as Error).message }, 'retired tables not dropped'),
      );
    } catch (error) {
      if (error instanceof LostLease || this.stopping) throw error;
      await this.options.orm.em
        .fork()
        .execute(
          `UPDATE projection_rebuilds SET status = 'failed', error = ?, finished_at = now(), updated_at = now()
            WHERE name = ?`,
          [(error as Error).message.slice(0, 2000), projection.name],
        )
        .catch(() => undefined);
      throw error;
    } finally {
      this.rebuilds.delete(projection.name);
    }
  }

  /** Drops a rebuild's shadow tables or copies (after a switch: the retired ones). */
  private async dropCopies(em: EntityManager, projection: PgProjection): Promise<void> {
    if (projection.copies) await projection.copies.drop();
    else await dropShadow(em, projection.name);
  }

  /** Calls off a rebuild this runner was making (it stops or lost the lease); its row stays, for the next holder. */
  private async cancelRebuild(name: string): Promise<void> {
    const rebuild = this.rebuilds.get(name);
    if (!rebuild) return;
    rebuild.cancelled = true;
    await rebuild.caughtUp;
    this.rebuilds.delete(name);
  }

  /**
   * The rows of one stream made again, in the projection's turn: `forget` deletes them and the events of the
   * streams they come from are applied again up to the checkpoint, in one transaction fenced on it.
   */
  private rebuildStreamRequest(state: Following, id: string, streamId: string): () => Promise<void> {
    return async () => {
      const em = this.options.orm.em.fork();
      try {
        const events = await this.rebuildStream(state, streamId);
        await em.execute(
          `UPDATE projection_stream_rebuilds SET status = 'done', finished_at = now(), position = ?, events = ?
            WHERE id = ?`,
          [state.stored.toString(), events, id],
        );
      } catch (error) {
        if (error instanceof LostLease) throw error;
        await em.execute(
          `UPDATE projection_stream_rebuilds SET status = 'failed', finished_at = now(), error = ? WHERE id = ?`,
          [(error as Error).message.slice(0, 2000), id],
        );
      }
    };
  }

  /** Rebuilds one stream's rows at the stored checkpoint; the events applied. */
  private async rebuildStream(state: Following, streamId: string): Promise<number> {
    const { projection } = state;
    if (!projection.streamRows) throw new Error(`${projection.name} cannot rebuild the rows of one stream`);
    const skipped = await this.skippedPositions(projection);
    return this.options.orm.em.fork().transactional(async (tx) => {
      await this.fenceCheckpoint(tx, projection, state.stored);
      const streams = await projection.streamRows!.streamsOf(tx, streamId);
      if (!streams) throw new Error(`${projection.name} keeps no rows for the stream ${streamId}`);
      const events: RecordedEvent[] = [];
      for (const stream of [...new Set(streams)]) {
        for await (const event of this.storeOf(projection).readStream(stream)) {
          if (event.position > state.stored) break;
          if (matchesFilter(event, projection.filter) && !skipped.has(event.position)) events.push(event);
        }
      }
      events.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
      await projection.streamRows!.forget(tx, streamId);
      if (events.length > 0) {
        await projection.apply(tx, events);
        await tx.flush();
      }
      return events.length;
    });
  }

  /** Locks the checkpoint row for the transaction and checks it is still where this runner left it. */
  private async fenceCheckpoint(tx: EntityManager, projection: PgProjection, stored: bigint): Promise<void> {
    const [row] = await tx.execute<Array<{ position: string }>>(
      'SELECT position FROM projection_checkpoints WHERE name = ? FOR UPDATE',
      [projection.name],
    );
    if (!row || BigInt(row.position) !== stored) {
      throw new LostLease(`${projection.name}: checkpoint moved by another runner`);
    }
  }

  /**
   * A retry or a skip of an event a `skip` projection went past. A skip only says support saw it. A retry makes the
   * rows of the event's stream again when the projection can (the event alone, applied after later ones of its
   * stream, would be dropped by a revision guard), else applies the event alone; failing again, it stays parked.
   */
  private answerParked(state: Following, id: string): () => Promise<void> {
    return async () => {
      const em = this.options.orm.em.fork();
      const [row] = await em.execute<Array<{ status: string; position: string; stream_id: string; event_id: string }>>(
        `SELECT status, position, stream_id, event_id FROM projection_parked WHERE id = ?`,
        [id],
      );
      if (!row) return;
      if (row.status === 'skip') {
        await em.execute(
          `UPDATE projection_parked SET status = 'skipped', resolved_at = now() WHERE id = ? AND status = 'skip'`,
          [id],
        );
        return;
      }
      if (row.status !== 'retry') return;
      const { projection } = state;
      try {
        const streams = projection.streamRows ? await projection.streamRows.streamsOf(em, row.stream_id) : null;
        if (streams) await this.rebuildStream(state, row.stream_id);
        else {
          const [event] = await toArray(
            this.storeOf(projection).readAll({ fromPosition: BigInt(row.position) - 1n, maxCount: 1 }),
          );
          if (!event || event.eventId !== row.event_id) throw new Error('the parked event is not in the store');
          await em.transactional(async (tx) => {
            await this.fenceCheckpoint(tx, projection, state.stored);
            await projection.apply(tx, [event]);
            await tx.flush();
          });
        }
        await em.execute(`UPDATE projection_parked SET status = 'retried', resolved_at = now() WHERE id = ?`, [id]);
      } catch (error) {
        if (error instanceof LostLease) throw error;
        await em.execute(
          `UPDATE projection_parked SET status = 'parked', error = ?, attempts = attempts + 1 WHERE id = ?`,
          [(error as Error).message.slice(0, 2000), id],
        );
      }
    };
  }

  /** Finishes the batch in flight, closes subscriptions and releases every lease. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.controlTimer);
    clearTimeout(this.deferred);
    this.deferred = undefined;
    for (const wake of [...this.sleepers]) wake();
    await Promise.all([...this.subscriptions.values()].map((s) => s.close()));
    await Promise.all(this.loops);
    await this.checking;
    await this.lockClient?.end().catch(() => undefined);
    this.lockClient = undefined;
  }
}
