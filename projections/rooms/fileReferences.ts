import type pg from 'pg';
import { fileReferencesProjection } from './fileReferencesProjection.js';

/** Every file key an event refers to now (room photos and their thumbnails): the files the purge must keep. */
export async function referencedFileKeys(pool: pg.Pool): Promise<Set<string>> {
  const { rows } = await pool.query<{ key: string }>('SELECT DISTINCT key FROM file_references');
  return new Set(rows.map((row) => row.key));
}

/**
 * Why the file references cannot be trusted right now, or null when they can: the projection has not started at
 * its version, its last batch failed, an event of it is parked (a photo it never recorded), or it has not yet
 * applied everything up to `head` (the store's head when the purge started; later events are covered by the
 * purge's grace period). While it is not trusted, the purge deletes nothing.
 */
export async function fileReferencesNotTrusted(pool: pg.Pool, head?: bigint): Promise<string | null> {
  const projection = fileReferencesProjection;
  const [{ rows }, { rows: parked }] = await Promise.all([
    pool.query<{ version: number; position: string; last_error: string | null }>(
      'SELECT version, position, last_error FROM projection_checkpoints WHERE name = $1',
      [projection.name],
    ),
    pool.query('SELECT 1 FROM projection_parked WHERE projection = $1 LIMIT 1', [projection.name]),
  ]);
  const row = rows[0];
  if (!row || row.version !== projection.version) return 'the file references are being built';
  if (row.last_error) return 'the file references projection is failing';
  if (parked.length > 0) return 'the file references projection has parked events';
  if (head !== undefined && BigInt(row.position) < head) return 'the file references are catching up';
  return null;
}
