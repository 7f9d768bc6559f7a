/**
 * The snapshot store port: the state of a stream folded up to a revision, kept so a long stream is not folded from its
 * first event on every command (commands/snapshots.ts decides when to take and use one). A snapshot is a cache of a
 * fact the event store can always give again: losing one costs a full fold, never a wrong state.
 */
export interface Snapshot {
  streamId: string;
  /** The revision of the last event folded into `state`. */
  revision: bigint;
  /** The decider's snapshot version (`SnapshotCodec.version`) the state was encoded with. */
  version: number;
  /** The encoded state: plain JSON. */
  state: unknown;
}

export interface SnapshotStore {
  /** The stream's latest snapshot, null when there is none. */
  read(streamId: string): Promise<Snapshot | null>;
  /**
   * Keeps `snapshot` unless the stored one is of the same version and at least as recent: concurrent writers
   * and a late writer never replace a newer snapshot with an older one.
   */
  write(snapshot: Snapshot): Promise<void>;
  /** Forgets every snapshot of the streams whose ids start with `prefix` (support, after a decider's fix). */
  forget(prefix: string): Promise<number>;
}
