import { Migration } from '@mikro-orm/migrations';

/**
 * What support asks of the projection runners (projections/operations.ts) and what they answer: a projection
 * paused or a rebuild asked for (`projection_controls`), the blue/green rebuild's progress (`projection_rebuilds`),
 * the rebuilds of one stream's rows (`projection_stream_rebuilds`), and parked events given an id, a status and an
 * answer to a retry or a skip. The runner that holds a projection's lease reads them; any API process writes them.
 */
export class Migration0019ProjectionOperations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE projection_controls (
        name                  text PRIMARY KEY,
        paused                boolean NOT NULL DEFAULT false,
        paused_by             uuid,
        changed_at            timestamptz NOT NULL DEFAULT now(),
        rebuild_requested_at  timestamptz,
        rebuild_requested_by  uuid
      )`);
    this.addSql(`
      CREATE TABLE projection_rebuilds (
        name             text PRIMARY KEY,
        version          integer NOT NULL,
        status           text NOT NULL,
        requested_by     uuid,
        started_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        finished_at      timestamptz,
        target_position  bigint NOT NULL DEFAULT 0,
        position         bigint NOT NULL DEFAULT 0,
        events_applied   bigint NOT NULL DEFAULT 0,
        error            text
      )`);
    this.addSql(`
      CREATE TABLE projection_stream_rebuilds (
        id            uuid PRIMARY KEY,
        projection    text NOT NULL,
        stream_id     text NOT NULL,
        status        text NOT NULL DEFAULT 'requested',
        requested_by  uuid,
        requested_at  timestamptz NOT NULL DEFAULT now(),
        finished_at   timestamptz,
        position      bigint,
        events        integer,
        error         text
      )`);
    this.addSql(
      `CREATE INDEX projection_stream_rebuilds_open ON projection_stream_rebuilds (projection, requested_at) WHERE status = 'requested'`,
    );
    this.addSql(`
      ALTER TABLE projection_parked
        ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid(),
        ADD COLUMN status text NOT NULL DEFAULT 'parked',
        ADD COLUMN attempts integer NOT NULL DEFAULT 1,
        ADD COLUMN requested_by uuid,
        ADD COLUMN resolved_at timestamptz`);
    this.addSql('CREATE UNIQUE INDEX projection_parked_id ON projection_parked (id)');
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX IF EXISTS projection_parked_id');
    this.addSql(
      'ALTER TABLE projection_parked DROP COLUMN id, DROP COLUMN status, DROP COLUMN attempts, DROP COLUMN requested_by, DROP COLUMN resolved_at',
    );
    this.addSql('DROP TABLE IF EXISTS projection_stream_rebuilds');
    this.addSql('DROP TABLE IF EXISTS projection_rebuilds');
    this.addSql('DROP TABLE IF EXISTS projection_controls');
  }
}
