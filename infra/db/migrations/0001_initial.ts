import { Migration } from '@mikro-orm/migrations';

export class Migration0001Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE projection_checkpoints (
        name        text PRIMARY KEY,
        version     integer NOT NULL,
        position    bigint NOT NULL DEFAULT 0,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        last_error  text
      )`);
    this.addSql(`
      CREATE TABLE projection_parked (
        projection  text NOT NULL,
        position    bigint NOT NULL,
        event_id    uuid NOT NULL,
        stream_id   text NOT NULL,
        type        text NOT NULL,
        error       text NOT NULL,
        parked_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (projection, position)
      )`);
    this.addSql(`
      CREATE TABLE idempotency_keys (
        scope         text NOT NULL,
        key           text NOT NULL,
        request_hash  text NOT NULL,
        status_code   integer,
        response      jsonb,
        created_at    timestamptz NOT NULL DEFAULT now(),
        completed_at  timestamptz,
        PRIMARY KEY (scope, key)
      )`);
    this.addSql('CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)');
    this.addSql(`
      CREATE TABLE rooms (
        id                   uuid PRIMARY KEY,
        landlord_id          uuid NOT NULL,
        status               text NOT NULL,
        title                text NOT NULL,
        description          text,
        address              text NOT NULL,
        location             geometry(Point, 4326) NOT NULL,
        price_per_night      integer NOT NULL,
        currency             char(3) NOT NULL,
        max_occupants        integer NOT NULL,
        amenities            text[] NOT NULL DEFAULT '{}',
        cancellation_policy  text NOT NULL,
        blocked              jsonb NOT NULL DEFAULT '[]',
        rating               double precision,
        review_count         integer NOT NULL DEFAULT 0,
        photos               jsonb NOT NULL DEFAULT '[]',
        created_at           timestamptz NOT NULL,
        updated_at           timestamptz NOT NULL,
        published_at         timestamptz,
        revision             bigint NOT NULL,
        last_position        bigint NOT NULL
      )`);
    this.addSql('CREATE INDEX rooms_location_gist ON rooms USING gist (location)');
    this.addSql('CREATE INDEX rooms_landlord ON rooms (landlord_id)');
    this.addSql("CREATE INDEX rooms_published ON rooms (status) WHERE status = 'published'");
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS rooms');
    this.addSql('DROP TABLE IF EXISTS idempotency_keys');
    this.addSql('DROP TABLE IF EXISTS projection_parked');
    this.addSql('DROP TABLE IF EXISTS projection_checkpoints');
  }
}
