import type { Snapshot, SnapshotStore } from './snapshotStore.js';

/** In-process snapshots for the memory event store. Passes the same contract suite as the PostgreSQL adapter. */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly snapshots = new Map<string, Snapshot>();

  async read(streamId: string): Promise<Snapshot | null> {
    const snapshot = this.snapshots.get(streamId);
    return snapshot ? structuredClone(snapshot) : null;
  }

  async write(snapshot: Snapshot): Promise<void> {
    const stored = this.snapshots.get(snapshot.streamId);
    if (stored && stored.version === snapshot.version && stored.revision >= snapshot.revision) return;
    this.snapshots.set(snapshot.streamId, structuredClone(snapshot));
  }

  async forget(prefix: string): Promise<number> {
    let forgotten = 0;
    for (const streamId of [...this.snapshots.keys()]) {
      if (streamId.startsWith(prefix) && this.snapshots.delete(streamId)) forgotten++;
    }
    return forgotten;
  }
}
