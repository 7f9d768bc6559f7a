import type pg from 'pg';
import type { PgProjection } from './projection.js';
import { OPERATIONS_CHANNEL } from './runner.js';

/**
 * What support asks of the projections, written where the runners read it (migration 0019): the runner that holds
 * a projection's lease carries it out (projections/runner.ts) and writes back how it went. Every write notifies
 * the runners, which also poll, so a request is taken up within a second wherever they run.
 */

export interface RebuildProgress {
  status: 'requested' | 'running' | 'done' | 'failed';
  version: number;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** The shadow tables' checkpoint, and the head it is catching up with. */
  position: string;
  targetPosition: string;
  /** position / targetPosition, 0 to 1. */
  progress: number;
  eventsApplied: number;
  eventsPerSecond: number;
  /** At the rate so far; null until there is a rate. */
  etaSeconds: number | null;
  error: string | null;
}

interface RebuildRow {
  name: string;
  version: number;
  status: RebuildProgress['status'];
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  target_position: string;
  position: string;
  events_applied: string;
  error: string | null;
}

function progressOf(row: RebuildRow, now: number): RebuildProgress {
  const position = Number(row.position);
  const target = Number(row.target_position);
  const end = row.finished_at?.getTime() ?? row.updated_at.getTime();
  const seconds = Math.max(0.001, (end - row.started_at.getTime()) / 1000);
  const applied = Number(row.events_applied);
  const positionsPerSecond = position / seconds;
  const running = row.status === 'running';
  return {
    status: row.status,
    version: row.version,
    startedAt: row.started_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    position: row.position,
    targetPosition: row.target_position,
    progress: row.status === 'done' ? 1 : target > 0 ? Math.min(1, position / target) : 0,
    eventsApplied: applied,
    eventsPerSecond: Math.round(applied / seconds),
    etaSeconds:
      running && positionsPerSecond > 0
        ? Math.max(0, Math.round((target - position) / positionsPerSecond - (now - end) / 1000))
        : null,
    error: row.error,
  };
}

/**
 * The newest rebuild of each projection (one row each: a new one replaces the last). Its times are the database's
 * now(), so its ETA is reckoned on the database's clock too.
 */
export async function rebuildProgress(pool: pg.Pool): Promise<Map<string, RebuildProgress>> {
  const { rows } = await pool.query<RebuildRow & { now_ms: number }>(
    'SELECT *, (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now_ms FROM projection_rebuilds',
  );
  return new Map(rows.map((row) => [row.name, progressOf(row, row.now_ms)]));
}

async function notify(pool: pg.Pool, name: string): Promise<void> {
  await pool.query('SELECT pg_notify($1, $2)', [OPERATIONS_CHANNEL, name]);
}

/**
 * Asks for a blue/green rebuild. `already` when one is asked for or running: asking twice starts one rebuild.
 */
export async function requestRebuild(
  pool: pg.Pool,
  projection: PgProjection,
  userId: string | null,
): Promise<'requested' | 'already'> {
  const { rows } = await pool.query<{ name: string }>(
    `INSERT INTO projection_rebuilds (name, version, status, requested_by, started_at, updated_at, target_position)
     VALUES ($1, $2, 'requested', $3, now(), now(), 0)
     ON CONFLICT (name) DO UPDATE SET status = 'requested', version = excluded.version,
       requested_by = excluded.requested_by, started_at = now(), updated_at = now(), finished_at = NULL,
       target_position = 0, position = 0, events_applied = 0, error = NULL
     WHERE projection_rebuilds.status NOT IN ('requested', 'running')
     RETURNING name`,
    [projection.name, projection.version, userId],
  );
  await notify(pool, projection.name);
  return rows.length > 0 ? 'requested' : 'already';
}

/** Pauses or resumes a projection: a paused one applies nothing until resumed; its reads go on, staler. */
export async function setPaused(pool: pg.Pool, name: string, paused: boolean, userId: string | null): Promise<void> {
  await pool.query(
    `INSERT INTO projection_controls (name, paused, paused_by, changed_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, paused_by = excluded.paused_by, changed_at = now()`,
    [name, paused, paused ? userId : null],
  );
  await notify(pool, name);
}

export async function pausedProjections(pool: pg.Pool): Promise<Set<string>> {
  const { rows } = await pool.query<{ name: string }>('SELECT name FROM projection_controls WHERE paused');
  return new Set(rows.map((row) => row.name));
}

export interface StreamRebuild {
  id: string;
  projection: string;
  streamId: string;
  status: 'requested' | 'done' | 'failed';
  requestedAt: string;
  finishedAt: string | null;
  /** The checkpoint the rows were made at, and the events applied. */
  position: string | null;
  events: number | null;
  error: string | null;
}

interface StreamRebuildRow {
  id: string;
  projection: string;
  stream_id: string;
  status: StreamRebuild['status'];
  requested_at: Date;
  finished_at: Date | null;
  position: string | null;
  events: number | null;
  error: string | null;
}

const streamRebuildOf = (row: StreamRebuildRow): StreamRebuild => ({
  id: row.id,
  projection: row.projection,
  streamId: row.stream_id,
  status: row.status,
  requestedAt: row.requested_at.toISOString(),
  finishedAt: row.finished_at?.toISOString() ?? null,
  position: row.position,
  events: row.events,
  error: row.error,
});

export async function requestStreamRebuild(
  pool: pg.Pool,
  id: string,
  projection: string,
  streamId: string,
  userId: string | null,
): Promise<StreamRebuild> {
  const { rows } = await pool.query<StreamRebuildRow>(
    `INSERT INTO projection_stream_rebuilds (id, projection, stream_id, requested_by) VALUES ($1, $2, $3, $4)
     RETURNING *`,
    [id, projection, streamId, userId],
  );
  await notify(pool, projection);
  return streamRebuildOf(rows[0]!);
}

export async function streamRebuild(pool: pg.Pool, id: string): Promise<StreamRebuild | null> {
  const { rows } = await pool.query<StreamRebuildRow>('SELECT * FROM projection_stream_rebuilds WHERE id = $1', [id]);
  return rows[0] ? streamRebuildOf(rows[0]) : null;
}

export type ParkedStatus = 'parked' | 'retry' | 'retrying' | 'retried' | 'skip' | 'skipped' | 'rebuilt';

export interface ParkedEvent {
  id: string;
  projection: string;
  position: string;
  eventId: string;
  streamId: string;
  type: string;
  error: string;
  status: ParkedStatus;
  attempts: number;
  parkedAt: string;
  resolvedAt: string | null;
}

interface ParkedRow {
  id: string;
  projection: string;
  position: string;
  event_id: string;
  stream_id: string;
  type: string;
  error: string;
  status: ParkedStatus;
  attempts: number;
  parked_at: Date;
  resolved_at: Date | null;
}

const parkedOf = (row: ParkedRow): ParkedEvent => ({
  id: row.id,
  projection: row.projection,
  position: row.position,
  eventId: row.event_id,
  streamId: row.stream_id,
  type: row.type,
  error: row.error,
  status: row.status,
  attempts: row.attempts,
  parkedAt: row.parked_at.toISOString(),
  resolvedAt: row.resolved_at?.toISOString() ?? null,
});

/** Statuses still waiting on support, or on the runner to answer support. */
export const OPEN_PARKED: readonly ParkedStatus[] = ['parked', 'retry', 'retrying', 'skip'];

/** Parked events, by projection and position, after the keyset `after` ([projection, position]). */
export async function parkedEvents(
  pool: pg.Pool,
  options: { projection?: string; open: boolean; after: [string, string] | null; limit: number },
): Promise<ParkedEvent[]> {
  const { rows } = await pool.query<ParkedRow>(
    `SELECT * FROM projection_parked
      WHERE ($1::text IS NULL OR projection = $1)
        AND (NOT $2 OR status = ANY($3))
        AND ($4::text IS NULL OR (projection, position) > ($4, $5::bigint))
      ORDER BY projection, position LIMIT $6`,
    [
      options.projection ?? null,
      options.open,
      OPEN_PARKED,
      options.after?.[0] ?? null,
      options.after?.[1] ?? null,
      options.limit,
    ],
  );
  return rows.map(parkedOf);
}

export async function parkedEvent(pool: pg.Pool, id: string): Promise<ParkedEvent | null> {
  const { rows } = await pool.query<ParkedRow>('SELECT * FROM projection_parked WHERE id = $1', [id]);
  return rows[0] ? parkedOf(rows[0]) : null;
}

/**
 * Asks the runner to retry or skip a parked event; null when no parked event has this id, the event as it stands
 * when it is no longer waiting (retried, skipped or rebuilt already: nothing is asked twice).
 */
export async function requestParked(
  pool: pg.Pool,
  id: string,
  action: 'retry' | 'skip',
  userId: string | null,
): Promise<ParkedEvent | null> {
  const { rows } = await pool.query<ParkedRow>(
    `UPDATE projection_parked SET status = $2, requested_by = $3 WHERE id = $1 AND status = 'parked' RETURNING *`,
    [id, action, userId],
  );
  if (rows[0]) await notify(pool, rows[0].projection);
  return rows[0] ? parkedOf(rows[0]) : parkedEvent(pool, id);
}
