import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventFilter, RecordedEvent } from '../infra/eventStore/eventStore.js';

/**
 * A projection into PostgreSQL. The runner calls `apply` inside the transaction that also moves
 * the checkpoint, so an event is applied exactly once whatever crashes when.
 */
export interface PgProjection {
  /** Stable name: the key of its checkpoint and its lease. */
  name: string;
  /** Bumping it rebuilds the read model from the first event. */
  version: number;
  filter: EventFilter;
  /**
   * Set by a projection that writes no read model and only has effects outside PostgreSQL (the feed publishes to
   * Redis, deliveries queue jobs): the runner calls `apply` outside any transaction (no BEGIN before the first
   * effect) and moves the checkpoint once it returns. At least once: a crash in between applies the batch again,
   * so its effects must be idempotent (sockets drop positions they have passed; job ids derive from event ids).
   */
  sideEffectsOnly?: boolean;
  /**
   * Known in this process by name only, run by another (why, for whoever reads it): its status is read from the
   * shared tables like any other's, and a runner given it starts nothing for it. An API process on chDB knows the
   * analytics projection this way.
   */
  elsewhere?: string;
  /**
   * `stored`: the events as stored (personal data still sealed, not upcast), for a projection that reads only their
   * envelope (the ledger chains positions and hashes): the runner reads them through its `storedEvents` store, which
   * skips opening each one. Default `opened`, as the application reads them.
   */
  reads?: 'opened' | 'stored';
  /**
   * The most events in one batch (the subscription's `maxBatchSize`; default 2,000). A projection whose writes cost
   * per call rather than per row (the warehouse, where every insert makes a part) asks for more while it catches up;
   * a live batch is as small as what was appended.
   */
  batchSize?: number;
  /**
   * Holds a batch smaller than `batchSize` back for up to this long, so that the events appended meanwhile are applied
   * with it: a projection whose every write costs (the warehouse, where an insert is a part to sort and merge) writes
   * about once per `lingerMs` while live instead of once per append. Its read model is as much behind; the checkpoint
   * moves only with the batch, so a crash meanwhile reads the held events again.
   */
  lingerMs?: number;
  /**
   * For a `sideEffectsOnly` projection whose writes wait on another process (the warehouse's engine): while a batch's
   * `apply` is in flight, the runner reads the next batch and calls `apply` for it too, so the projection builds one
   * batch's rows while the other process writes the last one's. At most two are in flight; the checkpoint still moves
   * in order, each only once its batch and every batch before it are in, and a batch whose overlapped `apply` failed
   * goes through the usual retries before anything after it moves the checkpoint. The projection orders its own
   * state between the two calls (the analytics projection builds a batch only after the one before it is built).
   */
  overlapBatches?: boolean;
  /**
   * The PostgreSQL tables its read model lives in, all of them and only its own. With them, a rebuild (asked for by
   * support, or a version bump) builds copies beside the live tables while those go on serving, and swaps them in at
   * once (projections/shadowTables.ts); without them the projection cannot be rebuilt while it serves, and a version
   * bump empties it in place (`reset`).
   */
  tables?: readonly string[];
  /**
   * For a read model outside PostgreSQL (the warehouse): the same blue/green rebuild through copies it makes itself.
   * `create` makes empty copies of its tables and returns an instance of the projection that writes into them (the
   * runner applies the history to it, outside any transaction); `swapIn` switches the copies in at once (the runner
   * then moves the checkpoint); `drop` removes the copies, or after `swapIn` the retired tables.
   */
  copies?: {
    create(): Promise<PgProjection>;
    swapIn(): Promise<void>;
    drop(): Promise<void>;
  };
  /**
   * Rebuilds the rows of one stream without replaying everything: `forget` deletes what the stream's events made,
   * then the runner applies again, in position order, the events of `streamsOf` up to its checkpoint.
   */
  streamRows?: {
    /** The streams whose events make this stream's rows, or null when the projection keeps none for it. */
    streamsOf(em: EntityManager, streamId: string): Promise<string[] | null>;
    forget(em: EntityManager, streamId: string): Promise<void>;
  };
  /**
   * An event the projection still fails on after its retries is parked with its error. `skip` (the default) goes
   * past it: the rest of the read model stays current, and support retries or skips it later. `stop` holds the
   * projection at it until support does: for a read model where an event left out makes everything after it wrong
   * (the audit ledger's hash chain).
   */
  onPoison?: 'skip' | 'stop';
  /** Applies events in position order; the runner flushes and commits. */
  apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void>;
  /** Empties the read model before a rebuild (same transaction as the checkpoint reset). */
  reset(em: EntityManager): Promise<void>;
}

/**
 * Thrown by a projection when a dependency it writes to is away for a while (Redis for a subscription that
 * queues jobs): the runner retries the batch until it goes through and never parks its events as poison.
 */
export class TransientProjectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransientProjectionError';
  }
}

/** Whether a rebuild can build the projection beside its live read model (PostgreSQL tables, or its own copies). */
export function rebuildsBeside(projection: PgProjection): boolean {
  return Boolean(projection.tables ?? projection.copies);
}
