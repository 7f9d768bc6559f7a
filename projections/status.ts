import type pg from 'pg';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import type { PgProjection } from './projection.js';
import { LEASE_NAMESPACE, leaseKey } from './runner.js';

export interface ProjectionStatus {
  name: string;
  version: number;
  /** live: caught up; catching_up: behind the head; rebuilding: stored version differs; no_runner: nobody holds the lease; error: last batch failed. */
  status: 'live' | 'catching_up' | 'rebuilding' | 'no_runner' | 'error';
  checkpoint: string;
  headPosition: string;
  lagEvents: number;
  lagMs: number;
  parkedEvents: number;
  lastError: string | null;
  active: boolean;
}

const LAG_COUNT_CAP = 10_000;

/** How far a projection is from the head, for a scrape: `head − checkpoint` in positions. */
export interface ProjectionLag {
  name: string;
  /**
   * Positions between the store's head and the projection's checkpoint (0 when caught up; the whole head while it
   * rebuilds). Positions have gaps and count the events the projection's filter skips, so this bounds the events
   * left from above; `lagEvents` of `projectionStatuses` counts them.
   */
  positionsBehind: number;
}

/**
 * The lag of every projection at a fixed cost whatever it is: the store's head and one read of the checkpoints
 * table, no event read (a scrape must not read and decrypt thousands of events when projections fall behind).
 */
export async function projectionLag(
  pool: pg.Pool,
  store: Pick<EventStore, 'headPosition'>,
  projections: readonly Pick<PgProjection, 'name' | 'version'>[],
): Promise<ProjectionLag[]> {
  const [{ rows }, head] = await Promise.all([
    pool.query<{ name: string; version: number; position: string }>(
      'SELECT name, version, position FROM projection_checkpoints',
    ),
    store.headPosition(),
  ]);
  return projections.map((projection) => {
    const row = rows.find((r) => r.name === projection.name);
    // A stored version other than the code's: the runner starts this one from the beginning.
    const checkpoint = row && row.version === projection.version ? BigInt(row.position) : 0n;
    const behind = head > checkpoint ? head - checkpoint : 0n;
    return { name: projection.name, positionsBehind: Number(behind) };
  });
}

/** Status of every projection, read from the shared tables: true whichever process runs them. */
export async function projectionStatuses(
  pool: pg.Pool,
  store: EventStore,
  projections: readonly PgProjection[],
): Promise<ProjectionStatus[]> {
  const [{ rows: checkpoints }, { rows: parked }, { rows: leases }, head] = await Promise.all([
    pool.query<{ name: string; version: number; position: string; last_error: string | null }>(
      'SELECT name, version, position, last_error FROM projection_checkpoints',
    ),
    pool.query<{ projection: string; n: string }>(
      'SELECT projection, count(*) AS n FROM projection_parked GROUP BY projection',
    ),
    pool.query<{ objid: string }>(
      // pg_locks shows every database of the cluster; advisory locks are per database.
      `SELECT objid::text FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objsubid = 2 AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [LEASE_NAMESPACE],
    ),
    store.headPosition(),
  ]);
  const held = new Set(leases.map((l) => Number(l.objid)));
  return Promise.all(
    projections.map(async (projection) => {
      const row = checkpoints.find((c) => c.name === projection.name);
      const checkpoint = row ? BigInt(row.position) : 0n;
      let lagEvents = 0;
      let lagMs = 0;
      for await (const event of store.readAll({
        fromPosition: checkpoint,
        filter: projection.filter,
        maxCount: LAG_COUNT_CAP,
      })) {
        if (lagEvents === 0) lagMs = Math.max(0, Date.now() - Date.parse(event.recordedAt));
        lagEvents++;
      }
      const active = held.has(leaseKey(projection.name) >>> 0);
      const status: ProjectionStatus['status'] =
        !row || row.version !== projection.version
          ? 'rebuilding'
          : row.last_error
            ? 'error'
            : !active
              ? 'no_runner'
              : lagEvents > 0
                ? 'catching_up'
                : 'live';
      return {
        name: projection.name,
        version: projection.version,
        status,
        checkpoint: checkpoint.toString(),
        headPosition: head.toString(),
        lagEvents,
        lagMs,
        parkedEvents: Number(parked.find((p) => p.projection === projection.name)?.n ?? 0),
        lastError: row?.last_error ?? null,
        active,
      };
    }),
  );
}

export class MinPositionTimeout extends Error {
  constructor(
    readonly projection: string,
    readonly position: bigint,
  ) {
    super(`projection ${projection} has not reached position ${position} yet`);
    this.name = 'MinPositionTimeout';
  }
}

/**
 * Read-your-writes: resolves once `projection` (at its current version: a rebuild starts over) has
 * applied everything up to `position`.
 */
export async function waitForCheckpoint(
  pool: pg.Pool,
  projection: Pick<PgProjection, 'name' | 'version'>,
  position: bigint,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    const { rows } = await pool.query<{ position: string }>(
      'SELECT position FROM projection_checkpoints WHERE name = $1 AND version = $2',
      [projection.name, projection.version],
    );
    if (rows[0] && BigInt(rows[0].position) >= position) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new MinPositionTimeout(projection.name, position);
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
    delay = Math.min(delay * 2, 50);
  }
}
