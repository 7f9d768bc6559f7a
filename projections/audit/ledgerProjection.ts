import type { EntityManager } from '@mikro-orm/postgresql';
import { GENESIS_HASH, ledgerStep } from '../../infra/eventStore/hashChain.js';
import type { PgProjection } from '../projection.js';

export const ledgerProjectionName = 'audit-ledger';

/**
 * The ledger digest, kept as the log grows: every event, in position order, chained onto the link before it
 * (`ledgerStep` over its stored hash), and one row per batch with the link reached. Live, a batch waits up to a
 * second for the events after it, so the table grows by about a row a second, not a row per append.
 */
export const ledgerProjection: PgProjection = {
  name: ledgerProjectionName,
  version: 1,
  tables: ['audit_ledger'],
  // A ledger with an event left out is wrong from there on: it waits at a poison event for support.
  onPoison: 'stop',
  filter: {},
  // Positions and hashes only: no event needs its personal data opened or upcast for that.
  reads: 'stored',
  batchSize: 5000,
  lingerMs: 1000,

  async apply(em: EntityManager, events) {
    const [last] = await em.execute<Array<{ digest: string; events: string }>>(
      'SELECT digest, events FROM audit_ledger ORDER BY position DESC LIMIT 1',
    );
    let digest = last?.digest ?? GENESIS_HASH;
    let count = BigInt(last?.events ?? 0);
    let position = 0n;
    for (const event of events) {
      digest = ledgerStep(digest, event.position, event.hash);
      count++;
      position = event.position;
    }
    await em.execute(
      'INSERT INTO audit_ledger (position, digest, events) VALUES (?, ?, ?) ON CONFLICT (position) DO NOTHING',
      [position.toString(), digest, count.toString()],
    );
  },

  async reset(em: EntityManager) {
    await em.execute('TRUNCATE audit_ledger');
  },
};
