import { Migration } from '@mikro-orm/migrations';

export class Migration0006Payments extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE payments (
        booking_id    uuid PRIMARY KEY,
        landlord_id   uuid NOT NULL,
        tenant_id     uuid NOT NULL,
        status        text NOT NULL,
        method        text NOT NULL,
        amount_due    integer NOT NULL,
        amount_paid   integer NOT NULL,
        balance_due   integer NOT NULL,
        refund_due    integer NOT NULL,
        currency      char(3) NOT NULL,
        due_at        timestamptz NOT NULL,
        overdue_at    timestamptz,
        receipts      jsonb NOT NULL,
        opened_at     timestamptz NOT NULL,
        updated_at    timestamptz NOT NULL,
        revision      bigint NOT NULL,
        last_position bigint NOT NULL
      )`);
    // The overdue sweep: unpaid balances by due date.
    this.addSql('CREATE INDEX payments_unpaid_due ON payments (due_at) WHERE balance_due > 0 AND overdue_at IS NULL');
    this.addSql('CREATE INDEX payments_landlord ON payments (landlord_id, due_at)');
    // Effects a process manager has carried out, one row per effect of an event; kept across rebuilds.
    this.addSql(`
      CREATE TABLE process_effects (
        process text NOT NULL,
        key     text NOT NULL,
        done_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (process, key)
      )`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS process_effects');
    this.addSql('DROP TABLE IF EXISTS payments');
  }
}
