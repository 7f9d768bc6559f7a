import { Migration } from '@mikro-orm/migrations';

/**
 * The saved searches read model (projections/savedSearches): one row per search, its circle as a geography point with
 * a GiST index (the matcher asks which circles cover a room), the criteria as written, and how many rooms matched.
 */
export class Migration0016SavedSearches extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE saved_searches (
        id               uuid PRIMARY KEY,
        tenant_id        uuid NOT NULL,
        name             text,
        location         geography(Point, 4326) NOT NULL,
        radius_km        double precision NOT NULL,
        criteria         jsonb NOT NULL,
        match_count      integer NOT NULL DEFAULT 0,
        created_at       timestamptz NOT NULL,
        deleted_at       timestamptz,
        created_position bigint NOT NULL,
        revision         bigint NOT NULL,
        last_position    bigint NOT NULL
      )`);
    this.addSql('CREATE INDEX saved_searches_location ON saved_searches USING gist (location)');
    this.addSql(
      'CREATE INDEX saved_searches_tenant ON saved_searches (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL',
    );
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS saved_searches');
  }
}
