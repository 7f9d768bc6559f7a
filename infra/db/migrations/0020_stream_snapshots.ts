import { Migration } from '@mikro-orm/migrations';

/**
 * The latest snapshot of a long stream (infra/snapshots, commands/snapshots.ts): the state folded up to `revision`,
 * encoded by the decider's codec of `version`. A cache of what the event store gives again: truncating it is safe.
 */
export class Migration0020StreamSnapshots extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE stream_snapshots (
        stream_id  text PRIMARY KEY,
        revision   bigint NOT NULL,
        version    integer NOT NULL,
        state      jsonb NOT NULL,
        taken_at   timestamptz NOT NULL DEFAULT now()
      )`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS stream_snapshots');
  }
}
