import { Migration } from '@mikro-orm/migrations';

/**
 * The ledger digest's checkpoints (projections/audit): after each batch, the position reached, the chain's link
 * there and the events counted. A signed digest is the newest row; verification compares against them to say where
 * a recomputed chain first parts from the one recorded.
 */
export class Migration0018AuditLedger extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE audit_ledger (
        position    bigint PRIMARY KEY,
        digest      text NOT NULL,
        events      bigint NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS audit_ledger');
  }
}
