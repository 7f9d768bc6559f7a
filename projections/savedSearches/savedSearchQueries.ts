import type pg from 'pg';
import type { SavedSearchCriteria } from '../../domain/savedSearches/events.js';
import type { GeoPoint } from '../../domain/shared/values.js';
import { MinPositionTimeout, waitForCheckpoint } from '../status.js';
import { savedSearchesProjectionName, savedSearchesProjectionVersion } from './savedSearchesProjection.js';

export interface SavedSearchRow {
  id: string;
  tenantId: string;
  name: string | null;
  criteria: SavedSearchCriteria;
  matchCount: number;
  createdAt: string;
}

export interface SavedSearchCandidate {
  id: string;
  criteria: SavedSearchCriteria;
}

export interface SavedSearchQueries {
  /**
   * Searches not deleted whose circle may cover `point`, created before `beforePosition` (a search saved after a room
   * was published never hears of that publication, replayed or not). A little generous at the rim: the caller decides
   * with `roomMatches`, whose distance is the search index's.
   */
  candidatesCovering(point: GeoPoint, beforePosition: bigint): Promise<SavedSearchCandidate[]>;
  /** Whether the read model has applied `position` (waiting at most `timeoutMs`). */
  caughtUp(position: bigint, timeoutMs: number): Promise<boolean>;
  /** A tenant's searches not deleted, newest first, after the keyset `[createdAt, id]` when given. */
  listForTenant(
    tenantId: string,
    after: { createdAt: string; id: string } | null,
    limit: number,
  ): Promise<SavedSearchRow[]>;
  /** How many searches the tenant has that are not deleted. */
  activeCount(tenantId: string): Promise<number>;
}

/** The largest radius (50 km) with the same 1 % margin as each circle: the clause the GiST index serves. */
const INDEX_REACH_METERS = 50_500;
/** Metres per km of radius, with 1 %: PostGIS measures on the spheroid, the search index on a sphere. */
const RIM_METERS_PER_KM = 1010;

const iso = (value: unknown): string =>
  value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();

export function createSavedSearchQueries(pool: pg.Pool): SavedSearchQueries {
  return {
    async candidatesCovering(point, beforePosition) {
      const { rows } = await pool.query<{ id: string; criteria: SavedSearchCriteria }>({
        name: 'saved_searches_covering',
        text: `WITH p AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS g)
               SELECT s.id, s.criteria FROM saved_searches s, p
                WHERE s.deleted_at IS NULL AND s.created_position < $3
                  AND ST_DWithin(s.location, p.g, ${INDEX_REACH_METERS})
                  AND ST_DWithin(s.location, p.g, s.radius_km * ${RIM_METERS_PER_KM})
                ORDER BY s.id`,
        values: [point.lng, point.lat, beforePosition.toString()],
      });
      return rows;
    },

    async caughtUp(position, timeoutMs) {
      try {
        await waitForCheckpoint(
          pool,
          { name: savedSearchesProjectionName, version: savedSearchesProjectionVersion },
          position,
          timeoutMs,
        );
        return true;
      } catch (error) {
        if (error instanceof MinPositionTimeout) return false;
        throw error;
      }
    },

    async listForTenant(tenantId, after, limit) {
      const { rows } = await pool.query<{
        id: string;
        tenant_id: string;
        name: string | null;
        criteria: SavedSearchCriteria;
        match_count: number;
        created_at: Date;
      }>(
        `SELECT id, tenant_id, name, criteria, match_count, created_at FROM saved_searches
          WHERE tenant_id = $1 AND deleted_at IS NULL
            AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
          ORDER BY created_at DESC, id DESC LIMIT $4`,
        [tenantId, after?.createdAt ?? null, after?.id ?? null, limit],
      );
      return rows.map((row) => ({
        id: row.id,
        tenantId: row.tenant_id,
        name: row.name,
        criteria: row.criteria,
        matchCount: Number(row.match_count),
        createdAt: iso(row.created_at),
      }));
    },

    async activeCount(tenantId) {
      const { rows } = await pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM saved_searches WHERE tenant_id = $1 AND deleted_at IS NULL',
        [tenantId],
      );
      return Number(rows[0]?.n ?? 0);
    },
  };
}
