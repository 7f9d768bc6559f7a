import type pg from 'pg';
import { fileReferencesProjection } from './fileReferencesProjection.js';
import { roomsProjection } from './roomsProjection.js';

/** Every file key an event refers to now (room photos and their thumbnails): the files the purge must keep. */
export async function referencedFileKeys(pool: pg.Pool): Promise<Set<string>> {
  const { rows } = await pool.query<{ key: string }>('SELECT DISTINCT key FROM file_references');
  return new Set(rows.map((row) => row.key));
}

/**
 * Why the file references cannot be trusted right now, or null when they can: the projection has not started at
 * its version, its last batch failed, an event of it is parked (a photo it never recorded), or it has not applied
 * everything up to `head` (the store's head when the purge began; without it, the rooms read model's checkpoint:
 * a removal the rooms show is then applied here too) within `waitMs`. Events after are covered by the purge's
 * grace period. While they are not trusted, the purge deletes nothing.
 */
export async function fileReferencesNotTrusted(pool: pg.Pool, head?: bigint, waitMs = 10_000): Promise<string | null> {
  const projection = fileReferencesProjection;
  const target =
    head ??
    BigInt(
      (
        await pool.query<{ position: string }>('SELECT position FROM projection_checkpoints WHERE name = $1', [
          roomsProjection.name,
        ])
      ).rows[0]?.position ?? 0,
    );
  const deadline = Date.now() + waitMs;
  for (;;) {
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
    if (BigInt(row.position) >= target) return null;
    if (Date.now() >= deadline) return 'the file references are catching up';
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
