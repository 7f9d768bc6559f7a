/**
 * Lists and rows passed to SQL as one JSON parameter: knex would expand a JS array into one placeholder per item
 * (thousands of them for a batch), and a multi-row VALUES list the same. A batch's statement reads them back with
 * `jsonb_array_elements_text` or `jsonb_to_recordset`.
 */
export const asJson = (values: unknown): string => JSON.stringify(values);

/** `IN (…)` over a list of uuids passed as one JSON parameter (`asJson(ids)`). */
export const IN_UUIDS = 'IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb))';
