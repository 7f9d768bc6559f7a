import type { Role } from '../../domain/shared/decider.js';
import { photoPath } from './roomView.js';

/** Who may see a stored photo or thumbnail, as the rooms that show it decide. */
export type PhotoAudience =
  /** A published room shows it: anyone, cacheable by shared caches. */
  | 'public'
  /** Only unpublished rooms show it, and the viewer is their landlord or an admin. */
  | 'private'
  /** No room shows it, or none the viewer may see: answered as if it did not exist. */
  | 'none';

export interface PhotoViewer {
  sub: string;
  role: Role;
}

interface Queryable {
  query<R extends Record<string, unknown>>(sql: string, values: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * The audience of the file `key` by the rooms read model (a photo's `url` or `thumbnailUrl` names it), with the
 * same rule as GET /api/rooms/{id}: drafts and unpublished rooms are for their landlord and admins only.
 * A file no room shows any more (removed, refused upload awaiting the clean-up) is seen by nobody.
 */
export async function photoAudience(db: Queryable, key: string, viewer: PhotoViewer | null): Promise<PhotoAudience> {
  const link = photoPath(key);
  const { rows } = await db.query<{ published: boolean | null; owned: boolean | null }>(
    `SELECT bool_or(status = 'published') AS published, bool_or(landlord_id = $3::uuid) AS owned
       FROM rooms
      WHERE photos @> $1::jsonb OR photos @> $2::jsonb`,
    [
      JSON.stringify([{ url: link }]),
      JSON.stringify([{ thumbnailUrl: link }]),
      viewer?.role === 'landlord' && isUuid(viewer.sub) ? viewer.sub : null,
    ],
  );
  const row = rows[0];
  if (row?.published === null || row?.published === undefined) return 'none';
  if (row.published) return 'public';
  return viewer?.role === 'admin' || row.owned ? 'private' : 'none';
}

const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
