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
   * The most events in one batch (the subscription's `maxBatchSize`; default 500). A projection whose writes cost
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
