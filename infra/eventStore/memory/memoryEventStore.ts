import {
  type AppendOptions,
  type AppendResult,
  DuplicateEventId,
  type EventStore,
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

/** In-process store for fast unit tests. Passes the same contract suite as the real adapters. */
export class MemoryEventStore implements EventStore {
  private readonly all: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly byId = new Map<string, RecordedEvent>();
  private listeners = new Set<() => void>();

  async append(
    streamId: string,
    events: readonly NewEvent[],
    { expectedRevision }: AppendOptions,
  ): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('append needs at least one event');
    const stream = this.streams.get(streamId) ?? [];
    const first = this.byId.get(events[0]!.eventId.toLowerCase());
    if (first) {
      const run = stream.slice(Number(first.revision), Number(first.revision) + events.length);
      const same =
        first.streamId === streamId &&
        run.length === events.length &&
        run.every((e, i) => e.eventId === events[i]!.eventId.toLowerCase());
      if (!same) throw new DuplicateEventId(streamId, first.eventId);
      const last = run[run.length - 1]!;
      return { nextExpectedRevision: last.revision, position: last.position };
    }
    for (const event of events) {
      if (this.byId.has(event.eventId.toLowerCase())) throw new DuplicateEventId(streamId, event.eventId);
    }
    const current = BigInt(stream.length) - 1n;
    const mismatch =
      (expectedRevision === 'no_stream' && current !== -1n) ||
      (expectedRevision === 'stream_exists' && current === -1n) ||
      (typeof expectedRevision === 'bigint' && current !== expectedRevision);
    if (mismatch) throw new WrongExpectedVersion(streamId, expectedRevision, current < 0n ? 'no_stream' : current);
    let previousHash = stream[stream.length - 1]?.hash ?? GENESIS_HASH;
    const recordedAt = new Date().toISOString();
    for (const event of events) {
      const revision = BigInt(stream.length);
      const content = {
        streamId,
        revision,
        eventId: event.eventId.toLowerCase(),
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: JSON.parse(canonicalJson(event.data)) as unknown,
        metadata: JSON.parse(canonicalJson(event.metadata)) as RecordedEvent['metadata'],
      };
      const hash = eventHash(previousHash, content);
      const recorded: RecordedEvent = {
        ...content,
        position: BigInt(this.all.length + 1),
        recordedAt,
        hash,
        previousHash,
      };
      previousHash = hash;
      stream.push(recorded);
      this.all.push(recorded);
      this.byId.set(recorded.eventId, recorded);
    }
    this.streams.set(streamId, stream);
    const last = stream[stream.length - 1]!;
    for (const listener of this.listeners) listener();
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  async *readStream(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const stream = this.streams.get(streamId) ?? [];
    const backwards = options.direction === 'backwards';
    const ordered = backwards ? [...stream].reverse() : stream;
    let count = 0;
    for (const event of ordered) {
      if (options.from !== undefined && (backwards ? event.revision > options.from : event.revision < options.from))
        continue;
      if (count++ >= (options.maxCount ?? Number.POSITIVE_INFINITY)) return;
      yield event;
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    let count = 0;
    for (const event of this.all) {
      if (options.fromPosition !== undefined && event.position <= options.fromPosition) continue;
      if (!matchesFilter(event, options.filter)) continue;
      if (count++ >= (options.maxCount ?? Number.POSITIVE_INFINITY)) return;
      yield event;
    }
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    let closed = false;
    let wake: (() => void) | undefined;
    const listener = () => wake?.();
    this.listeners.add(listener);
    const all = this.all;
    const listeners = this.listeners;
    const maxBatch = options.maxBatchSize ?? 500;
    let checkpoint = options.fromPosition ?? 0n;
    return {
      async *[Symbol.asyncIterator](): AsyncIterator<SubscriptionBatch> {
        try {
          while (!closed) {
            const next = all.filter((e) => e.position > checkpoint).slice(0, maxBatch);
            if (next.length > 0) {
              checkpoint = next[next.length - 1]!.position;
              yield { events: next.filter((e) => matchesFilter(e, options.filter)), checkpoint };
              continue;
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
        } finally {
          listeners.delete(listener);
        }
      },
      async close() {
        closed = true;
        wake?.();
      },
    };
  }

  async headPosition(): Promise<bigint> {
    return BigInt(this.all.length);
  }

  /** recordedAt is stamped from this process's clock. */
  async clockNow(): Promise<number> {
    return Date.now();
  }

  /** Appends are whole at once: nothing can appear below the head. */
  async settledPosition(): Promise<bigint> {
    return BigInt(this.all.length);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
