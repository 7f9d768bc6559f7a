import type pg from 'pg';
import type { Snapshot, SnapshotStore } from './snapshotStore.js';

/** Snapshots in PostgreSQL (`stream_snapshots`, migration 0020), one row per stream: the latest one only. */
export class PostgresSnapshotStore implements SnapshotStore {
  constructor(private readonly pool: pg.Pool) {}

  async read(streamId: string): Promise<Snapshot | null> {
    const { rows } = await this.pool.query<{ revision: string; version: number; state: unknown }>(
      'SELECT revision, version, state FROM stream_snapshots WHERE stream_id = $1',
      [streamId],
    );
    const row = rows[0];
    return row ? { streamId, revision: BigInt(row.revision), version: row.version, state: row.state } : null;
  }

  async write(snapshot: Snapshot): Promise<void> {
    await this.pool.query(
      `INSERT INTO stream_snapshots (stream_id, revision, version, state, taken_at)
       VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (stream_id) DO UPDATE
         SET revision = EXCLUDED.revision, version = EXCLUDED.version, state = EXCLUDED.state, taken_at = now()
         WHERE stream_snapshots.version <> EXCLUDED.version OR stream_snapshots.revision < EXCLUDED.revision`,
      [snapshot.streamId, snapshot.revision.toString(), snapshot.version, JSON.stringify(snapshot.state)],
    );
  }

  async forget(prefix: string): Promise<number> {
    const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const { rowCount } = await this.pool.query('DELETE FROM stream_snapshots WHERE stream_id LIKE $1', [pattern]);
    return rowCount ?? 0;
  }
}
