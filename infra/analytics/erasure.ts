import type { AnalyticsStore } from './analyticsStore.js';
import { ANALYTICS_TABLES, type AnalyticsTable, assertTableName, PERSON_COLUMNS } from './schema.js';

/**
 * Erases a person's identifiers from the warehouse: every column that holds a person id and equals `personId` is
 * blanked (`''`), in every version of every row, and the person's own stream id (`User-<id>`) in `events` becomes
 * `User-`. Counts, amounts and dates stay, so the figures do not change; only who is gone. A mutation
 * (`ALTER TABLE … UPDATE`) that the call waits for (`mutations_sync = 2`), on chDB and on a server alike; erasing
 * the same person again changes nothing.
 *
 * A rebuild of the warehouse from the event store would bring the ids back: the warehouse projection must erase
 * again (or leave the ids out) for people the identity context marks as erased.
 */
export async function erasePerson(
  store: AnalyticsStore,
  personId: string,
  /** Where each table's rows are (a rebuild's copies): the table itself unless said. */
  tableOf: (table: AnalyticsTable) => string = (table) => table,
): Promise<void> {
  if (personId === '') return;
  for (const table of ANALYTICS_TABLES) {
    const columns = PERSON_COLUMNS[table];
    if (columns.length === 0) continue;
    const assignments = columns.map((column) => `${column} = if(${column} = {person:String}, '', ${column})`);
    const matches = columns.map((column) => `${column} = {person:String}`);
    if (table === 'events') {
      assignments.push("stream_id = if(stream_id = concat('User-', {person:String}), 'User-', stream_id)");
      matches.push("stream_id = concat('User-', {person:String})");
    }
    const name = tableOf(table);
    assertTableName(name);
    await store.command(
      `ALTER TABLE ${name} UPDATE ${assignments.join(', ')} WHERE ${matches.join(' OR ')} SETTINGS mutations_sync = 2`,
      { person: personId },
    );
  }
}
