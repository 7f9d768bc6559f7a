import type pg from 'pg';
import { type EventStore, toArray } from '../infra/eventStore/eventStore.js';
import { OPEN_PARKED, pausedProjections, type RebuildProgress, rebuildProgress } from './operations.js';
import { type PgProjection, rebuildsBeside } from './projection.js';
import { LEASE_NAMESPACE, leaseKey } from './runner.js';

export interface ProjectionStatus {
  name: string;
  version: number;
  /**
   * live: caught up; catching_up: behind the head; rebuilding: stored version differs (the new one builds beside
   * the old one); paused: by support; no_runner: nobody holds the lease; error: last batch failed (a `stop`
   * projection waits at a parked event).
   */
  status: 'live' | 'catching_up' | 'rebuilding' | 'paused' | 'no_runner' | 'error';
  checkpoint: string;
  headPosition: string;
  lagEvents: number;
  lagMs: number;
  parkedEvents: number;
  lastError: string | null;
  active: boolean;
  /** Rebuilds blue/green (it names its tables); rebuilds one stream's rows. */
  rebuildable: boolean;
  streamRebuildable: boolean;
  onPoison: 'skip' | 'stop';
  /** The newest rebuild, running or ended. */
  rebuild?: RebuildProgress;
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
  /** Age of the first event after the checkpoint (0 when caught up): how stale its reads may be. */
  lagMs: number;
}

/**
 * The lag of every projection at a fixed cost whatever it is: the store's head, one read of the checkpoints table,
 * and for each projection behind, the one event after its checkpoint (a scrape must not read and decrypt thousands
 * of events when projections fall behind). That event may be one the projection skips: its age bounds the lag.
 */
export async function projectionLag(
  pool: pg.Pool,
  store: Pick<EventStore, 'headPosition' | 'readAll' | 'clockNow'>,
  projections: readonly Pick<PgProjection, 'name' | 'version'>[],
): Promise<ProjectionLag[]> {
  const [{ rows }, head, now] = await Promise.all([
    pool.query<{ name: string; version: number; position: string }>(
      'SELECT name, version, position FROM projection_checkpoints',
    ),
    store.headPosition(),
    store.clockNow(),
  ]);
  const ages = new Map<bigint, Promise<number>>();
  const ageAfter = (checkpoint: bigint) => {
    if (!ages.has(checkpoint)) {
      ages.set(
        checkpoint,
        toArray(store.readAll({ fromPosition: checkpoint, maxCount: 1 })).then(([next]) =>
          next ? Math.max(0, now - Date.parse(next.recordedAt)) : 0,
        ),
      );
    }
    return ages.get(checkpoint)!;
  };
  return Promise.all(
    projections.map(async (projection) => {
      const row = rows.find((r) => r.name === projection.name);
      // A stored version other than the code's: the runner starts this one from the beginning.
      const checkpoint = row && row.version === projection.version ? BigInt(row.position) : 0n;
      const behind = head > checkpoint ? head - checkpoint : 0n;
      return {
        name: projection.name,
        positionsBehind: Number(behind),
        lagMs: behind > 0n ? await ageAfter(checkpoint) : 0,
      };
    }),
  );
}

/** Status of every projection, read from the shared tables: true whichever process runs them. */
export async function projectionStatuses(
  pool: pg.Pool,
  store: EventStore,
  projections: readonly PgProjection[],
): Promise<ProjectionStatus[]> {
  const [{ rows: checkpoints }, { rows: parked }, { rows: leases }, head, rebuilds, paused, now] = await Promise.all([
    pool.query<{ name: string; version: number; position: string; last_error: string | null }>(
      'SELECT name, version, position, last_error FROM projection_checkpoints',
    ),
    pool.query<{ projection: string; n: string }>(
      `SELECT projection, count(*) AS n FROM projection_parked WHERE status = ANY($1) GROUP BY projection`,
      [OPEN_PARKED],
    ),
    pool.query<{ objid: string }>(
      // pg_locks shows every database of the cluster; advisory locks are per database.
      `SELECT objid::text FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objsubid = 2 AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [LEASE_NAMESPACE],
    ),
    store.headPosition(),
    rebuildProgress(pool),
    pausedProjections(pool),
    store.clockNow(),
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
        if (lagEvents === 0) lagMs = Math.max(0, now - Date.parse(event.recordedAt));
        lagEvents++;
      }
      const active = held.has(leaseKey(projection.name) >>> 0);
      const status: ProjectionStatus['status'] =
        !row || row.version !== projection.version
          ? 'rebuilding'
          : paused.has(projection.name)
            ? 'paused'
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
        rebuildable: rebuildsBeside(projection),
        streamRebuildable: Boolean(projection.streamRows),
        onPoison: projection.onPoison ?? 'skip',
        ...(rebuilds.has(projection.name) ? { rebuild: rebuilds.get(projection.name)! } : {}),
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
