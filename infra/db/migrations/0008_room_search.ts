import { Migration } from '@mikro-orm/migrations';

/** The PostgreSQL room search index (infra/search/postgres) and the search projection's own state. */
export class Migration0008RoomSearch extends Migration {
  override async up(): Promise<void> {
    this.addSql('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    this.addSql(`
      CREATE TABLE search_rooms (
        room_id        uuid PRIMARY KEY,
        landlord_id    uuid NOT NULL,
        title          text NOT NULL,
        description    text,
        address        text NOT NULL,
        lat            double precision NOT NULL,
        lng            double precision NOT NULL,
        -- For the bounding-box prefilter only; distances are computed from lat and lng (see pgRoomSearch.ts).
        geom           geometry(Point, 4326) NOT NULL,
        price_per_night integer NOT NULL,
        currency       char(3) NOT NULL,
        max_occupants  integer NOT NULL,
        amenities      text[] NOT NULL,
        amenity_score  double precision NOT NULL,
        published      boolean NOT NULL,
        review_count   integer NOT NULL,
        rating_sum     double precision NOT NULL,
        photo_url      text,
        version        integer NOT NULL,
        tsv            tsvector GENERATED ALWAYS AS (
                         setweight(to_tsvector('simple', title), 'A') ||
                         setweight(to_tsvector('simple', coalesce(description, '')), 'B') ||
                         setweight(to_tsvector('simple', address), 'C')) STORED
      )`);
    this.addSql('CREATE INDEX search_rooms_geom ON search_rooms USING gist (geom) WHERE published');
    this.addSql('CREATE INDEX search_rooms_tsv ON search_rooms USING gin (tsv) WHERE published');
    this.addSql('CREATE INDEX search_rooms_amenities ON search_rooms USING gin (amenities) WHERE published');
    // The highest amenity score, read by the ranking's early stop.
    this.addSql('CREATE INDEX search_rooms_amenity_score ON search_rooms (amenity_score) WHERE published');
    this.addSql(`
      CREATE TABLE search_room_nights (
        room_id uuid NOT NULL,
        night   date NOT NULL,
        PRIMARY KEY (room_id, night)
      )`);
    // Every word of every indexed room: typo tolerance looks a mistyped word up here by trigram similarity.
    this.addSql('CREATE TABLE search_words (word text PRIMARY KEY)');
    this.addSql('CREATE INDEX search_words_trgm ON search_words USING gin (word gin_trgm_ops)');
    // Per map cell (domain/search/cells.ts), the position of its latest change: part of every search cache key.
    this.addSql('CREATE TABLE search_cell_versions (cell text PRIMARY KEY, version bigint NOT NULL)');
    // The search projection's state per room (the document and its nights), whichever index it feeds.
    this.addSql(`
      CREATE TABLE search_room_state (
        room_id uuid PRIMARY KEY,
        state   jsonb NOT NULL
      )`);
  }

  override async down(): Promise<void> {
    this.addSql(
      'DROP TABLE IF EXISTS search_cell_versions, search_room_state, search_words, search_room_nights, search_rooms',
    );
  }
}
