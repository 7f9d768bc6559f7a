import type { EntityManager } from '@mikro-orm/postgresql';
import { quoteIdentifier as quote } from './jsonParameters.js';

/**
 * Blue/green rebuilds of a PostgreSQL read model (docs/decisions/0011-blue-green-rebuilds.md). The new version is
 * built in copies of the projection's tables in a schema of its own (`rebuild_<name>`), written through
 * `search_path` so the projection's SQL, unqualified, lands there unchanged; readers keep reading `public` until
 * `swapIn` moves the copies into `public` and the old tables out, in one transaction with the checkpoint.
 */

/** The schema a projection's shadow tables live in: its name, reduced to what needs no quoting, and bounded. */
export function shadowSchema(projection: string): string {
  return `rebuild_${projection.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 60);
}

const retiredSchema = (projection: string) => shadowSchema(projection).replace(/^rebuild_/, 'retired_');

/**
 * Empty copies of `tables` in the projection's shadow schema, with the columns, defaults, constraints and indexes
 * of the live ones (`LIKE … INCLUDING ALL`; the read models have no foreign keys, triggers or sequences to miss).
 * A shadow left by a rebuild that did not finish is dropped first.
 */
export async function createShadow(em: EntityManager, projection: string, tables: readonly string[]): Promise<void> {
  const schema = quote(shadowSchema(projection));
  await em.execute(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await em.execute(`CREATE SCHEMA ${schema}`);
  for (const table of tables) {
    await em.execute(`CREATE TABLE ${schema}.${quote(table)} (LIKE public.${quote(table)} INCLUDING ALL)`);
  }
}

/** Makes the rest of the transaction read and write the shadow tables, and every other table where it is. */
export async function writeToShadow(em: EntityManager, projection: string): Promise<void> {
  await em.execute(`SET LOCAL search_path TO ${quote(shadowSchema(projection))}, public`);
}

export async function dropShadow(em: EntityManager, projection: string): Promise<void> {
  await em.execute(`DROP SCHEMA IF EXISTS ${quote(shadowSchema(projection))} CASCADE`);
  await em.execute(`DROP SCHEMA IF EXISTS ${quote(retiredSchema(projection))} CASCADE`);
}

interface IndexRow {
  schemaname: string;
  tablename: string;
  indexname: string;
  indexdef: string;
}

/** An index's definition without its name and schema: what a copy made by `LIKE` shares with its original. */
const shape = (row: IndexRow) => row.indexdef.replace(/ INDEX \S+ ON \S+\./, ' INDEX ON ').replace(/\s+/g, ' ');

/**
 * Inside the caller's transaction: waits for the readers of the live tables to finish (ACCESS EXCLUSIVE), moves
 * them out to `retired_<name>` and the shadow tables into `public`, and gives each copied index its original's name
 * (`LIKE` names them after their columns; later migrations name the originals). Queries waiting on the lock resolve
 * the table's name again once they get it (PostgreSQL retries the lookup after a concurrent change), so they read
 * the new table, never an error. The caller drops the retired tables after commit (`dropShadow`).
 */
export async function swapIn(em: EntityManager, projection: string, tables: readonly string[]): Promise<void> {
  const shadow = shadowSchema(projection);
  const retired = retiredSchema(projection);
  const live = tables.map((t) => `public.${quote(t)}`).join(', ');
  const indexes = await em.execute<IndexRow[]>(
    `SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
      WHERE schemaname IN ('public', ?) AND tablename = ANY(string_to_array(?, ','))`,
    [shadow, tables.join(',')],
  );
  await em.execute(`LOCK TABLE ${live} IN ACCESS EXCLUSIVE MODE`);
  await em.execute(`DROP SCHEMA IF EXISTS ${quote(retired)} CASCADE`);
  await em.execute(`CREATE SCHEMA ${quote(retired)}`);
  for (const table of tables) await em.execute(`ALTER TABLE public.${quote(table)} SET SCHEMA ${quote(retired)}`);
  for (const table of tables) await em.execute(`ALTER TABLE ${quote(shadow)}.${quote(table)} SET SCHEMA public`);
  // Two steps, so that a copy is never renamed to a name another copy still holds.
  const renames: Array<{ from: string; temporary: string; to: string }> = [];
  for (const copy of indexes.filter((row) => row.schemaname === shadow)) {
    const original = indexes.find(
      (row) => row.schemaname === 'public' && row.tablename === copy.tablename && shape(row) === shape(copy),
    );
    if (original && original.indexname !== copy.indexname) {
      renames.push({ from: copy.indexname, temporary: `swap_${renames.length}_${Date.now()}`, to: original.indexname });
    }
  }
  for (const r of renames) await em.execute(`ALTER INDEX public.${quote(r.from)} RENAME TO ${quote(r.temporary)}`);
  for (const r of renames) await em.execute(`ALTER INDEX public.${quote(r.temporary)} RENAME TO ${quote(r.to)}`);
}
