import type pg from 'pg';
import type { PgProjection } from '../../projections/projection.js';

/**
 * Columns left out of read-model checksums, and why. `audit_ledger` is compared by its last link only.
 * - audit_ledger.recorded_at: `DEFAULT now()`, the wall clock of the batch's commit.
 * - search_cell_versions.version: a search cache's stamp, the position of the last event of the batch that changed
 *   the cell; any position from the change on is right, so it follows the batching.
 */
const EXCLUDED_COLUMNS: Record<string, readonly string[]> = {
  audit_ledger: ['recorded_at'],
  search_cell_versions: ['version'],
};

async function columnsOf(pool: pg.Pool, table: string): Promise<string[]> {
  const { rows } = await pool.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1
     ORDER BY ordinal_position`,
    [table],
  );
  if (rows.length === 0) throw new Error(`no table ${table}`);
  const excluded = EXCLUDED_COLUMNS[table] ?? [];
  return rows.map((row) => row.column_name).filter((column) => !excluded.includes(column));
}

/**
 * Per table of the projections: its row count and an md5 over its rows in a deterministic order, so two builds of a
 * read model compare table by table.
 */
export async function tableChecksums(
  pool: pg.Pool,
  projections: readonly Pick<PgProjection, 'tables'>[],
): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  for (const projection of projections) {
    for (const table of projection.tables ?? []) {
      const columns = (await columnsOf(pool, table)).map((c) => `"${c}"`).join(', ');
      // The ledger writes one link per batch, so how many rows it holds depends on how the events were batched;
      // what must match is the chain's last link (its position, digest and event count).
      const rows =
        table === 'audit_ledger'
          ? `SELECT ${columns} FROM ${table} ORDER BY position DESC LIMIT 1`
          : `SELECT ${columns} FROM ${table}`;
      const { rows: result } = await pool.query<{ n: string; sum: string }>(
        `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM (${rows}) t`,
      );
      sums.set(table, `${result[0]!.n} rows ${result[0]!.sum}`);
    }
  }
  return sums;
}
