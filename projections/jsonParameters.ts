import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Lists and rows passed to SQL as one JSON parameter: knex would expand a JS array into one placeholder per item
 * (thousands of them for a batch), and a multi-row VALUES list the same. A batch's statement reads them back with
 * `jsonb_array_elements_text` or `jsonb_to_recordset`.
 */
export const asJson = (values: unknown): string => JSON.stringify(values);

/** A table or column name as a quoted SQL identifier. */
export const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** `IN (…)` over a list of uuids passed as one JSON parameter (`asJson(ids)`). */
export const IN_UUIDS = 'IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb))';

/** Runs SQL in the entity manager's transaction with bound parameters (a batch's JSON is sent as it is, not quoted into the text). */
export async function runSql<T = Record<string, unknown>>(
  em: EntityManager,
  sql: string,
  params: unknown[],
): Promise<T[]> {
  const query = em.getKnex().raw(sql, params as never[]);
  const tx = em.getTransactionContext();
  if (tx) query.transacting(tx as never);
  const result = (await query) as { rows: T[] };
  return result.rows;
}
