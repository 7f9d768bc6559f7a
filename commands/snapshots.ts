import type { SnapshotCodec } from '../domain/shared/decider.js';
import type { SnapshotStore } from '../infra/snapshots/snapshotStore.js';

/** A state folded up to a revision: from a snapshot, or from nothing (`null`, fold from the start). */
export interface SnapshotBase<State> {
  state: State;
  revision: bigint;
}

export interface StreamSnapshotsOptions {
  store: SnapshotStore;
  /** A snapshot is taken once this many events were folded since the last one (SNAPSHOT_EVERY_EVENTS). */
  every: number;
  /** Decoded snapshots kept in this process, the most recently used first out last. */
  cacheEntries?: number;
  /** A snapshot that could not be read, decoded or written: the command goes on with a full fold. */
  onError?(error: unknown, streamId: string): void;
}

interface Cached {
  version: number;
  revision: bigint;
  state: unknown;
}

/**
 * When to take a snapshot and where to find the latest, for the deciders that have a codec (`Decider.snapshot`).
 * Snapshots are a cache of the fold: a missing, older, unreadable or other-version snapshot only means a longer
 * fold. The states kept in this process are shared by concurrent commands, which is safe because `evolve` returns
 * new states and never changes the one it is given. Another process may hold an older snapshot of the same stream
 * than this one: it folds a longer tail, and is as right.
 */
export class StreamSnapshots {
  readonly every: number;
  private readonly cache = new Map<string, Cached>();
  private readonly cacheEntries: number;

  constructor(private readonly options: StreamSnapshotsOptions) {
    if (!Number.isInteger(options.every) || options.every < 1) throw new RangeError('every must be a positive integer');
    this.every = options.every;
    this.cacheEntries = options.cacheEntries ?? 2_000;
  }

  /** The latest usable snapshot of the stream for this codec, or null. */
  async latest<State>(streamId: string, codec: SnapshotCodec<State>): Promise<SnapshotBase<State> | null> {
    const cached = this.cache.get(streamId);
    if (cached && cached.version === codec.version) {
      this.remember(streamId, cached);
      return { state: cached.state as State, revision: cached.revision };
    }
    try {
      const stored = await this.options.store.read(streamId);
      if (!stored || stored.version !== codec.version) return null;
      const state = codec.decode(stored.state);
      this.remember(streamId, { version: stored.version, revision: stored.revision, state });
      return { state, revision: stored.revision };
    } catch (error) {
      this.options.onError?.(error, streamId);
      return null;
    }
  }

  /**
   * Called with the state a command left the stream in: takes a snapshot of it when at least `every` events were
   * folded since `base` (the snapshot the command started from, null: from the start).
   */
  async folded<State>(
    streamId: string,
    codec: SnapshotCodec<State>,
    state: State,
    revision: bigint,
    base: bigint | null,
  ): Promise<void> {
    if (revision - (base ?? -1n) < BigInt(this.every)) return;
    try {
      await this.options.store.write({ streamId, revision, version: codec.version, state: codec.encode(state) });
      this.remember(streamId, { version: codec.version, revision, state });
    } catch (error) {
      this.options.onError?.(error, streamId);
    }
  }

  /** Forgets the snapshots of the streams starting with `prefix`, here and in the store. */
  async forget(prefix: string): Promise<number> {
    for (const streamId of [...this.cache.keys()]) if (streamId.startsWith(prefix)) this.cache.delete(streamId);
    return this.options.store.forget(prefix);
  }

  private remember(streamId: string, entry: Cached): void {
    const held = this.cache.get(streamId);
    if (held && held.version === entry.version && held.revision > entry.revision) entry = held;
    this.cache.delete(streamId);
    this.cache.set(streamId, entry);
    if (this.cache.size > this.cacheEntries) this.cache.delete(this.cache.keys().next().value!);
  }
}
