import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  BACKWARDS,
  END,
  type EventData,
  eventTypeFilter,
  excludeSystemEvents,
  type Filter,
  FORWARDS,
  type JSONType,
  jsonEvent,
  KurrentDBClient,
  NO_STREAM,
  type Position,
  START,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import {
  type AppendOptions,
  type AppendResult,
  DuplicateEventId,
  type EventFilter,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  matchesFilter,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionBatch,
  WrongExpectedVersion,
} from '../eventStore.js';
import { canonicalJson, eventHash, GENESIS_HASH } from '../hashChain.js';

/** Events read back before an append beyond the batch size, to recognise a retried batch near the end of the stream. */
const IDEMPOTENCY_LOOKBACK = 32;
/** Attempts for appends whose expectation survives a concurrent writer ('any', 'stream_exists'). */
const MAX_APPEND_ATTEMPTS = 12;
const READ_ALL_PAGE_SIZE = 512;
const DEFAULT_MAX_BATCH_SIZE = 500;
/** A live subscription that heard nothing for this long asks the store whether its checkpoint may advance. */
const SUBSCRIPTION_QUIET_MS = 500;
const SUBSCRIPTION_PROBE_INTERVAL_MS = 1000;
/** Positions at or above 2^63 are the "no position" sentinel of older servers (u64::MAX) or garbage. */
const POSITION_LIMIT = 1n << 63n;

/** The part of a KurrentDB recorded event this adapter reads (both the gRPC and the native read paths). */
interface StoredEvent {
  streamId: string;
  id: string;
  type: string;
  revision: bigint;
  created: Date;
  isJson: boolean;
  data: unknown;
  metadata: unknown;
  position?: Position;
}

interface PreparedEvent {
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  /** Parsed back from `canonicalJson(data)`, so the client's `JSON.stringify` writes exactly the canonical text. */
  canonicalData: JSONType;
}

type AttemptOutcome = { done: AppendResult } | { conflict: bigint | 'no_stream' };

/**
 * The event store port on KurrentDB (EventStoreDB's successor). One KurrentDB stream per Roomline stream; the envelope's
 * `schemaVersion`, `hash` and `previousHash` travel in the event's JSON metadata next to the caller's metadata.
 * `position` is the event's commit position in `$all`, which is unique per event and strictly increasing for
 * everything written through the gRPC API (it has no explicit multi-append transactions).
 */
export function createKurrentEventStore(connectionString: string): EventStore {
  return new KurrentEventStore(KurrentDBClient.connectionString(connectionString));
}

class KurrentEventStore implements EventStore {
  private readonly subscriptions = new Set<KurrentSubscription>();

  constructor(private readonly client: KurrentDBClient) {}

  async append(
    streamId: string,
    events: readonly NewEvent[],
    { expectedRevision }: AppendOptions,
  ): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('append needs at least one event');
    if (typeof expectedRevision === 'bigint' && expectedRevision < 0n) {
      throw new RangeError(`expected revision must be >= 0, got ${expectedRevision}`);
    }
    const batch = events.map(prepare);
    const ids = new Set<string>();
    for (const event of batch) {
      if (ids.has(event.eventId)) throw new DuplicateEventId(streamId, event.eventId);
      ids.add(event.eventId);
    }
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attemptAppend(streamId, batch, expectedRevision);
      if ('done' in outcome) return outcome.done;
      // Another writer got in between our read and our append. Explicit expectations are settled by the next
      // attempt's read (a retried batch, or a real conflict); 'any' and 'stream_exists' simply chain onto it.
      if (attempt >= MAX_APPEND_ATTEMPTS) throw new WrongExpectedVersion(streamId, expectedRevision, outcome.conflict);
      await sleep(Math.random() * Math.min(2 ** attempt, 50));
    }
  }

  /**
   * Reads the end of the stream, recognises a retried batch, checks the expectation, then appends with the revision
   * just read as the server-side expectation: the hashes were computed against that revision, so the chain cannot fork.
   */
  private async attemptAppend(
    streamId: string,
    batch: readonly PreparedEvent[],
    expected: ExpectedRevision,
  ): Promise<AttemptOutcome> {
    const tail = await this.readRecent(streamId, batch.length + IDEMPOTENCY_LOOKBACK);
    const last = tail[0];
    const current = last?.revision ?? -1n;

    const replay = findReplay(streamId, batch, tail);
    if (replay) return { done: replay };

    if (!expectationHolds(expected, current)) {
      const replayed = await this.findReplayAtExpectation(streamId, batch, expected, current, tail);
      if (replayed) return { done: replayed };
      throw new WrongExpectedVersion(streamId, expected, current < 0n ? 'no_stream' : current);
    }

    let previousHash = last?.hash ?? GENESIS_HASH;
    let revision = current;
    const proposed: EventData[] = batch.map((event) => {
      revision++;
      const hash = eventHash(previousHash, {
        streamId,
        revision,
        eventId: event.eventId,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: event.data,
        metadata: event.metadata,
      });
      const stored = jsonEvent({
        id: event.eventId,
        type: event.type,
        data: event.canonicalData,
        metadata: JSON.parse(
          canonicalJson({ ...event.metadata, schemaVersion: event.schemaVersion, hash, previousHash }),
        ) as JSONType,
      });
      previousHash = hash;
      return stored;
    });

    let result: Awaited<ReturnType<KurrentDBClient['appendToStream']>>;
    try {
      result = await this.client.appendToStream(streamId, proposed, {
        streamState: current < 0n ? NO_STREAM : current,
      });
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return { conflict: actualRevision(error.actualState) };
      throw error;
    }
    // Only with `throwOnAppendFailure=false` in the connection string; its revision is not reliable then.
    if (!result.success) return { conflict: current < 0n ? 'no_stream' : current };

    const position = validPosition(result.position?.commit);
    return {
      done: {
        nextExpectedRevision: result.nextExpectedRevision,
        position: position ?? (await this.positionOfRevision(streamId, result.nextExpectedRevision)),
      },
    };
  }

  /**
   * The caller's explicit expectation is behind the stream: a retry of a batch appended at exactly that expectation
   * is a success, however far back it lies.
   */
  private async findReplayAtExpectation(
    streamId: string,
    batch: readonly PreparedEvent[],
    expected: ExpectedRevision,
    current: bigint,
    tail: readonly RecordedEvent[],
  ): Promise<AppendResult | undefined> {
    if (expected === 'any' || expected === 'stream_exists') return undefined;
    const start = (expected === 'no_stream' ? -1n : expected) + 1n;
    if (start > current) return undefined;
    const oldestRead = tail[tail.length - 1]?.revision;
    if (oldestRead !== undefined && oldestRead <= start) return undefined; // already looked at by findReplay
    const slice = await this.readSlice(streamId, start, batch.length);
    const first = slice.find((event) => event.eventId === batch[0]!.eventId);
    if (first && first.revision !== start) {
      return findReplay(streamId, batch, await this.readSlice(streamId, first.revision, batch.length));
    }
    return findReplay(streamId, batch, slice);
  }

  /** The newest `count` events of a stream, newest first; none for a missing stream. */
  private async readRecent(streamId: string, count: number): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    for await (const event of this.streamEvents(streamId, { direction: 'backwards', maxCount: count }, true)) {
      events.push(event);
    }
    return events;
  }

  private async readSlice(streamId: string, from: bigint, count: number): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    for await (const event of this.streamEvents(streamId, { from, maxCount: count }, true)) events.push(event);
    return events;
  }

  private async positionOfRevision(streamId: string, revision: bigint): Promise<bigint> {
    const [event] = await this.readSlice(streamId, revision, 1);
    if (!event) throw new Error(`stream ${streamId}: revision ${revision} was appended but cannot be read back`);
    return event.position;
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    return this.streamEvents(streamId, options, false);
  }

  /** Reads made to decide an append go to the leader, which is where the append is checked. */
  private async *streamEvents(
    streamId: string,
    options: ReadStreamOptions,
    requiresLeader: boolean,
  ): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === 'backwards';
    if (options.maxCount !== undefined && options.maxCount <= 0) return;
    let fromRevision: bigint | typeof START | typeof END = backwards ? END : START;
    if (options.from !== undefined) {
      if (options.from >= 0n) fromRevision = options.from;
      else if (backwards) return; // nothing at or below a negative revision
    }
    const source = this.client.readStream(streamId, {
      direction: backwards ? BACKWARDS : FORWARDS,
      fromRevision,
      requiresLeader,
      ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
    });
    let yielded = false;
    try {
      for await (const resolved of source) {
        const event = resolved.event;
        if (!event) continue;
        yielded = true;
        yield toRecorded(event, requirePosition(event, resolved.commitPosition));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError && !yielded) return;
      throw error;
    }
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    return this.allEvents(options, false);
  }

  private async *allEvents(options: ReadAllOptions, requiresLeader: boolean): AsyncIterable<RecordedEvent> {
    const filter = options.filter;
    if (filter?.eventTypes?.length === 0 || filter?.streamPrefixes?.length === 0) return;
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    let after = options.fromPosition !== undefined && options.fromPosition >= 0n ? options.fromPosition : undefined;
    const serverFilter = toServerFilter(filter);
    while (true) {
      // A read from a position includes the event at it: one more than needed, as it is skipped.
      const pageSize = Math.min(READ_ALL_PAGE_SIZE, remaining + 1);
      let read = 0;
      let lastPosition: bigint | undefined;
      for await (const resolved of this.client.readAll({
        direction: FORWARDS,
        fromPosition: after === undefined ? START : { commit: after, prepare: after },
        maxCount: pageSize,
        filter: serverFilter,
        requiresLeader,
      })) {
        read++;
        const event = resolved.event;
        if (!event) continue;
        const position = requirePosition(event, resolved.commitPosition);
        lastPosition = position;
        if (after !== undefined && position <= after) continue;
        if (!isRoomlineCandidate(event, filter)) continue;
        yield toRecorded(event, position);
        if (--remaining <= 0) return;
      }
      if (read < pageSize || lastPosition === undefined) return;
      if (after !== undefined && lastPosition <= after) return;
      after = lastPosition;
    }
  }

  /**
   * @internal For a subscription's idle probe: the first event matching `filter` strictly after `after`, read on the
   * leader like the head before it (`head(true)`): the leader's view only grows, so this read sees every event up to
   * that head.
   */
  async firstAfter(after: bigint, filter: EventFilter | undefined): Promise<RecordedEvent | undefined> {
    const options: ReadAllOptions = { filter, maxCount: 1, ...(after >= 0n ? { fromPosition: after } : {}) };
    for await (const event of this.allEvents(options, true)) return event;
    return undefined;
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    const subscription = new KurrentSubscription(this, this.client, options, () =>
      this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  headPosition(): Promise<bigint> {
    return this.head(false);
  }

  /**
   * recordedAt is the server's `created`; the client cannot read the server's clock, so this is the process's,
   * which NTP keeps within milliseconds of it in production.
   */
  async clockNow(): Promise<number> {
    return Date.now();
  }

  /** $all is in commit order: nothing can appear below the head. */
  settledPosition(): Promise<bigint> {
    return this.head(false);
  }

  /** @internal */
  async head(requiresLeader: boolean): Promise<bigint> {
    for await (const resolved of this.client.readAll({
      direction: BACKWARDS,
      fromPosition: END,
      maxCount: 1,
      filter: excludeSystemEvents(),
      requiresLeader,
    })) {
      if (resolved.event) return requirePosition(resolved.event, resolved.commitPosition);
    }
    return 0n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }
}

/**
 * A catch-up subscription to `$all` that delivers batches in position order. The client stream flows into a bounded
 * buffer and is paused while the consumer lags; server checkpoints are queued behind the events that preceded them.
 */
class KurrentSubscription implements Subscription {
  private readonly maxBatchSize: number;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly after: bigint | undefined;
  private source: AllStreamSubscription | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly ready: SubscriptionBatch[] = [];
  private filling: RecordedEvent[] = [];
  private flushScheduled = false;
  private buffered = 0;
  private paused = false;
  /** Highest checkpoint queued: batches only ever carry a higher one. */
  private lastCheckpoint: bigint;
  /** Every event matching the filter at or before this position has been queued. */
  private considered: bigint;
  private lastQueuedEvent = -1n;
  private lastActivity = Date.now();
  private probing = false;
  private wake: (() => void) | undefined;
  private drainWaiters: Array<() => void> = [];
  private failure: Error | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly store: KurrentEventStore,
    private readonly client: KurrentDBClient,
    private readonly options: SubscribeOptions,
    private readonly onClosed: () => void,
  ) {
    this.maxBatchSize = Math.max(1, options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE);
    this.highWater = this.maxBatchSize * 2;
    this.lowWater = this.maxBatchSize;
    this.after = options.fromPosition !== undefined && options.fromPosition >= 0n ? options.fromPosition : undefined;
    this.lastCheckpoint = this.after ?? -1n;
    this.considered = this.after ?? -1n;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SubscriptionBatch> {
    this.start();
    try {
      while (!this.closed) {
        const batch = this.ready.shift();
        if (batch) {
          this.buffered -= batch.events.length;
          if (this.paused && this.buffered <= this.lowWater) {
            this.paused = false;
            this.source?.resume();
          }
          yield batch;
          continue;
        }
        if (this.failure) throw this.failure;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      await this.close();
    }
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.releaseDrainWaiters();
    this.notify();
    this.onClosed();
    const source = this.source;
    this.closing = source ? source.unsubscribe().catch(() => undefined) : Promise.resolve();
    return this.closing;
  }

  private start(): void {
    if (this.source || this.closed) return;
    const source = this.client.subscribeToAll({
      fromPosition: this.after === undefined ? START : { commit: this.after, prepare: this.after },
      resolveLinkTos: false,
      filter: toServerFilter(this.options.filter, (_subscription, position) => this.onCheckpoint(position)),
    });
    this.source = source;
    source.on('data', (resolved: AllStreamResolvedEvent) => this.onEvent(resolved));
    source.on('error', (error: Error) => this.fail(error));
    source.on('end', () => this.fail(new Error('KurrentDB ended the $all subscription')));
    source.on('close', () => this.fail(new Error('the $all subscription stream closed')));
    this.probeTimer = setInterval(() => void this.probe(), SUBSCRIPTION_PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  private onEvent(resolved: AllStreamResolvedEvent): void {
    try {
      if (this.closed || this.failure) return;
      this.lastActivity = Date.now();
      const event = resolved.event;
      if (!event) return;
      const position = requirePosition(event, resolved.commitPosition);
      if (position > this.considered) this.considered = position;
      if (this.after !== undefined && position <= this.after) return;
      if (!isRoomlineCandidate(event, this.options.filter)) return;
      if (position <= this.lastQueuedEvent) return;
      this.filling.push(toRecorded(event, position));
      this.lastQueuedEvent = position;
      this.buffered++;
      if (this.filling.length >= this.maxBatchSize) this.seal();
      else this.scheduleFlush();
      if (!this.paused && this.buffered >= this.highWater) {
        this.paused = true;
        this.source?.pause();
      }
    } catch (error) {
      this.fail(error);
    } finally {
      if ((this.source?.readableLength ?? 0) === 0) this.releaseDrainWaiters();
    }
  }

  /** Awaited by the client before it reads on, so the checkpoint is queued after every event that preceded it. */
  private async onCheckpoint(position: Position): Promise<void> {
    if (this.closed || this.failure) return;
    await this.drained();
    if (this.closed || this.failure) return;
    this.lastActivity = Date.now();
    if (position.commit > this.considered) this.considered = position.commit;
    this.queueCheckpoint(position.commit);
  }

  /**
   * Server checkpoints come every few dozen scanned events, so a quiet filtered subscription would keep an old
   * checkpoint. When nothing arrived for a while: if no matching event lies between what was considered and the
   * store's head (the head read first, so every event up to it is visible to the second read), the head is a safe
   * checkpoint.
   */
  private async probe(): Promise<void> {
    const source = this.source;
    if (this.probing || this.closed || this.failure || !source) return;
    if (Date.now() - this.lastActivity < SUBSCRIPTION_QUIET_MS) return;
    if (this.paused || source.readableLength > 0) return;
    this.probing = true;
    try {
      const from = this.considered;
      const head = await this.store.head(true);
      if (this.closed || head <= from || head <= this.lastCheckpoint) return;
      const next = await this.store.firstAfter(from, this.options.filter);
      if (this.closed || this.failure) return;
      if (next !== undefined && next.position <= head) return; // still on its way to us
      if (head > this.considered) this.considered = head;
      this.queueCheckpoint(head);
    } catch {
      // A failed probe only delays a checkpoint; the subscription itself reports real failures.
    } finally {
      this.probing = false;
    }
  }

  private queueCheckpoint(checkpoint: bigint): void {
    this.seal();
    if (checkpoint <= this.lastCheckpoint) return;
    this.lastCheckpoint = checkpoint;
    const newest = this.ready[this.ready.length - 1];
    if (newest && newest.events.length === 0) newest.checkpoint = checkpoint;
    else this.ready.push({ events: [], checkpoint });
    this.notify();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.seal();
    });
  }

  private seal(): void {
    if (this.filling.length === 0) return;
    const events = this.filling;
    this.filling = [];
    const newest = events[events.length - 1]!.position;
    if (newest > this.lastCheckpoint) this.lastCheckpoint = newest;
    this.ready.push({ events, checkpoint: this.lastCheckpoint });
    this.notify();
  }

  private drained(): Promise<void> {
    if ((this.source?.readableLength ?? 0) === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private fail(error: unknown): void {
    if (this.closed || this.failure) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.seal();
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.releaseDrainWaiters();
    this.source?.unsubscribe().catch(() => undefined);
    this.notify();
  }
}

function prepare(event: NewEvent): PreparedEvent {
  if (event.type.startsWith('$')) {
    throw new RangeError(`event type ${event.type}: types starting with '$' are reserved for KurrentDB system events`);
  }
  const text = canonicalJson(event.data) as string | undefined;
  if (typeof text !== 'string') throw new TypeError(`event ${event.eventId}: data is not JSON-serialisable`);
  return {
    eventId: event.eventId.toLowerCase(),
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    // The client writes JSON.stringify(data); of this value that is `text` again, byte for byte. Scalars are valid
    // JSON documents too, whatever the client's typing says.
    canonicalData: JSON.parse(text) as JSONType,
  };
}

function expectationHolds(expected: ExpectedRevision, current: bigint): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return current === -1n;
  if (expected === 'stream_exists') return current !== -1n;
  return current === expected;
}

/**
 * A batch whose first id is already in `known` (events of this stream) is a retry when the whole batch sits there
 * in order; the result is that of the original append. Any other overlap is a reused id.
 */
function findReplay(
  streamId: string,
  batch: readonly PreparedEvent[],
  known: readonly RecordedEvent[],
): AppendResult | undefined {
  const byId = new Map(known.map((event) => [event.eventId, event]));
  const first = byId.get(batch[0]!.eventId);
  if (first) {
    const byRevision = new Map(known.map((event) => [event.revision, event]));
    let last = first;
    for (let i = 0; i < batch.length; i++) {
      const stored = byRevision.get(first.revision + BigInt(i));
      if (!stored || stored.eventId !== batch[i]!.eventId) throw new DuplicateEventId(streamId, first.eventId);
      last = stored;
    }
    return { nextExpectedRevision: last.revision, position: last.position };
  }
  for (const event of batch) {
    if (byId.has(event.eventId)) throw new DuplicateEventId(streamId, event.eventId);
  }
  return undefined;
}

function actualRevision(state: bigint | 'no_stream'): bigint | 'no_stream' {
  return state === 'no_stream' || state < 0n ? 'no_stream' : state;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\#\s]/g, '\\$&');
}

/**
 * The most selective filter the server can apply (it takes one: event type or stream name). `matchesFilter` still
 * runs on every event, for the other half and for system events.
 */
function toServerFilter(
  filter: EventFilter | undefined,
  checkpointReached?: (subscription: AllStreamSubscription, position: Position) => Promise<void>,
): Filter {
  const callback = checkpointReached ? { checkpointReached } : {};
  const types = filter?.eventTypes?.filter((type) => !type.startsWith('$')) ?? [];
  if (types.length > 0) {
    return eventTypeFilter({ regex: `^(?:${types.map(escapeRegex).join('|')})$`, ...callback });
  }
  if (filter?.streamPrefixes && filter.streamPrefixes.length > 0) {
    return streamNameFilter({ prefixes: [...filter.streamPrefixes], ...callback });
  }
  return excludeSystemEvents(callback);
}

function isRoomlineCandidate(event: { type: string; streamId: string }, filter: EventFilter | undefined): boolean {
  return !event.type.startsWith('$') && matchesFilter(event, filter);
}

function validPosition(position: bigint | undefined): bigint | undefined {
  return position !== undefined && position >= 0n && position < POSITION_LIMIT ? position : undefined;
}

function requirePosition(event: StoredEvent, commitPosition: bigint | undefined): bigint {
  const position = validPosition(event.position?.commit) ?? validPosition(commitPosition);
  if (position === undefined) {
    throw new Error(
      `KurrentDB returned no $all position for event ${event.id} in ${event.streamId}; the adapter needs a server that reports positions on stream reads (EventStoreDB 22.6 or later)`,
    );
  }
  return position;
}

function toRecorded(event: StoredEvent, position: bigint): RecordedEvent {
  const malformed = (what: string) =>
    new Error(
      `event ${event.id} in ${event.streamId} at revision ${event.revision} has ${what}; it was not written by this adapter`,
    );
  const raw = event.metadata;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw malformed('no JSON object metadata');
  }
  const { schemaVersion, hash, previousHash, ...metadata } = raw as Record<string, unknown>;
  if (typeof schemaVersion !== 'number' || typeof hash !== 'string' || typeof previousHash !== 'string') {
    throw malformed('no schemaVersion, hash and previousHash in its metadata');
  }
  let data = event.data;
  if (!event.isJson) {
    if (!(data instanceof Uint8Array)) throw malformed('binary data the client did not return as bytes');
    try {
      data = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch {
      throw malformed('data that is not JSON');
    }
  }
  return {
    eventId: event.id.toLowerCase(),
    type: event.type,
    schemaVersion,
    data,
    metadata: metadata as unknown as EventMetadata,
    streamId: event.streamId,
    revision: event.revision,
    position,
    recordedAt: event.created.toISOString(),
    hash,
    previousHash,
  };
}
