/**
 * The event store port (ARCHITECTURE.md section 3). Every adapter (PostgreSQL, KurrentDB/EventStoreDB,
 * in-memory) passes the one contract suite in `test/contracts/eventStore.contract.ts`.
 *
 * Positions are `bigint`: a total order over all events of the store, the same key that readers
 * page by and projections checkpoint by. They are not dense: only their order means something.
 */

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

/** Who did what, why and when: carried by every event (ARCHITECTURE.md envelope). */
export interface EventMetadata {
  correlationId: string;
  causationId: string | null;
  actorId: string | null;
  actorRole: string | null;
  /** When the fact happened in the business sense (ISO 8601). */
  occurredAt: string;
  requestId: string | null;
}

/** An event as a command handler hands it to the store. */
export interface NewEvent<Type extends string = string, Data = unknown> {
  eventId: string;
  type: Type;
  schemaVersion: number;
  data: Data;
  metadata: EventMetadata;
}

/** An event as read back from the store. */
export interface RecordedEvent<Type extends string = string, Data = unknown> extends NewEvent<Type, Data> {
  streamId: string;
  /** 0-based revision within its stream. */
  revision: bigint;
  /** Global position: the order of `readAll` and subscriptions. */
  position: bigint;
  /** When the store recorded it (ISO 8601). */
  recordedAt: string;
  /** Tamper evidence: sha-256 (hex) over this event's content and `previousHash`; see `hashChain.ts`. */
  hash: string;
  /** The hash of the previous event in the stream, or the genesis value for revision 0. */
  previousHash: string;
}

export interface AppendOptions {
  expectedRevision: ExpectedRevision;
}

export interface AppendResult {
  /** The revision of the last event now in the stream. */
  nextExpectedRevision: bigint;
  /** The global position of the last event appended (or of the already present event on an idempotent retry). */
  position: bigint;
}

export interface ReadStreamOptions {
  /** Revision to start at (inclusive). Default: the start for forwards, the end for backwards. */
  from?: bigint;
  direction?: 'forwards' | 'backwards';
  maxCount?: number;
}

export interface EventFilter {
  /** Only these event types. */
  eventTypes?: readonly string[];
  /** Only streams whose id starts with one of these prefixes (e.g. `Room-`). */
  streamPrefixes?: readonly string[];
}

export interface ReadAllOptions {
  /** Exclusive: read events strictly after this position. Omit to start at the beginning. */
  fromPosition?: bigint;
  filter?: EventFilter;
  maxCount?: number;
}

export interface SubscribeOptions {
  /** Exclusive checkpoint: deliver events strictly after it. Omit to start at the beginning. */
  fromPosition?: bigint;
  filter?: EventFilter;
  /** The most events in one delivered batch (default 500). */
  maxBatchSize?: number;
}

/**
 * One delivery of a subscription. `checkpoint` is a position the subscriber may store: every event
 * matching the filter at or before it has been delivered (with this batch). A batch may carry no
 * events and only advance the checkpoint past events the filter skipped.
 */
export interface SubscriptionBatch {
  events: RecordedEvent[];
  checkpoint: bigint;
}

export interface Subscription extends AsyncIterable<SubscriptionBatch> {
  /** Stops the subscription; a pending `next()` resolves as done. */
  close(): Promise<void>;
}

export interface EventStore {
  /** Appends atomically to one stream. Throws `WrongExpectedVersion` on a revision mismatch. */
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /** Catches up from `fromPosition`, then follows live. Never skips an event, never delivers one twice. */
  subscribe(options?: SubscribeOptions): Subscription;
  /** The position of the newest event (0n when the store is empty). */
  headPosition(): Promise<bigint>;
  /**
   * A position at or below which no event can still appear: whatever commits from now on lies above it. Where to
   * start following "from now" without missing anything (a feed socket without `since`). The head where events
   * become readable in position order (memory, KurrentDB); below it while an older append is still open
   * (PostgreSQL, whose positions are taken before commit).
   */
  settledPosition(): Promise<bigint>;
  /**
   * Epoch milliseconds on the clock that stamps `recordedAt` (the database's for PostgreSQL): an event's age is
   * measured on it, never on the app's clock, which may differ (another host, a test's shifted clock).
   */
  clockNow(): Promise<number>;
  close(): Promise<void>;
}

export class WrongExpectedVersion extends Error {
  readonly kind = 'WrongExpectedVersion' as const;
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, found ${String(actual)}`);
    this.name = 'WrongExpectedVersion';
  }
}

/** An event id reused for different content, or in another stream. */
export class DuplicateEventId extends Error {
  readonly kind = 'DuplicateEventId' as const;
  constructor(
    readonly streamId: string,
    readonly eventId: string,
  ) {
    super(`event ${eventId} already exists and does not match the append to ${streamId}`);
    this.name = 'DuplicateEventId';
  }
}

export function matchesFilter(event: { type: string; streamId: string }, filter: EventFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.eventTypes && !filter.eventTypes.includes(event.type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix))) {
    return false;
  }
  return true;
}

/** Collects an async iterable (tests and small reads). */
export async function toArray<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
