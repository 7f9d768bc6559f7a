import type { EntityManager } from '@mikro-orm/postgresql';
import {
  SAVED_SEARCH_STREAM_PREFIX,
  type SavedSearchEvent,
  SavedSearchEventTypes,
} from '../../domain/savedSearches/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { runSql } from '../jsonParameters.js';
import type { PgProjection } from '../projection.js';

export const savedSearchesProjectionName = 'saved-searches';
export const savedSearchesProjectionVersion = 1;

/**
 * `saved_searches`: a row per SavedSearch stream. Plain SQL rather than `singleStreamRows`, whose rows are MikroORM
 * entities: the circle is a PostGIS geography and the criteria jsonb, written here in one statement each. Like the
 * helper, an event the row already reflects (by stream revision) is skipped.
 */
export const savedSearchesProjection: PgProjection = {
  name: savedSearchesProjectionName,
  version: savedSearchesProjectionVersion,
  tables: ['saved_searches'],
  filter: { eventTypes: SavedSearchEventTypes, streamPrefixes: [SAVED_SEARCH_STREAM_PREFIX] },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      const id = recorded.streamId.slice(SAVED_SEARCH_STREAM_PREFIX.length);
      const event = { type: recorded.type, data: recorded.data } as SavedSearchEvent;
      const mark = [recorded.revision.toString(), recorded.position.toString()];
      switch (event.type) {
        case 'SavedSearchCreated': {
          const { tenantId, criteria, name, createdAt } = event.data;
          await runSql(
            em,
            `INSERT INTO saved_searches (id, tenant_id, name, location, radius_km, criteria, created_at, created_position,
               revision, last_position)
             VALUES (?, ?, ?, ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography, ?, ?::jsonb, ?, ?, ?, ?)
             ON CONFLICT (id) DO NOTHING`,
            [
              id,
              tenantId,
              name,
              criteria.location.lng,
              criteria.location.lat,
              criteria.radiusKm,
              JSON.stringify(criteria),
              createdAt,
              recorded.position.toString(),
              ...mark,
            ],
          );
          break;
        }
        case 'SavedSearchDeleted':
          await runSql(
            em,
            'UPDATE saved_searches SET deleted_at = ?, revision = ?, last_position = ? WHERE id = ? AND revision < ?',
            [event.data.deletedAt, ...mark, id, mark[0]],
          );
          break;
        case 'SavedSearchMatched':
          await runSql(
            em,
            `UPDATE saved_searches SET match_count = match_count + 1, revision = ?, last_position = ?
              WHERE id = ? AND revision < ?`,
            [...mark, id, mark[0]],
          );
          break;
        default:
          break;
      }
    }
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('DELETE FROM saved_searches');
  },
};
