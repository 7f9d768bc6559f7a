import { Migration } from '@mikro-orm/migrations';

/**
 * The PostgreSQL room search index, second shape (infra/search/postgres):
 * - unavailable nights as one `datemultirange` per room (GiST-indexed), so a change costs its ranges, not its nights;
 * - each room's words (infra/search/postgres/searchText.ts) instead of a tsvector: a query's words are compared as
 *   values and never become tsquery syntax;
 * - the typo vocabulary counts the published rooms holding each word (a word goes when its last room does), with the
 *   words' numbered bigrams for the candidate lookup.
 * Words are computed in TypeScript, so existing rooms get theirs from the search projection's rebuild (its version
 * changes with this shape); the nights are carried over here.
 */
export class Migration0009SearchRanges extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE search_room_unavailable (
        room_id uuid PRIMARY KEY,
        nights  datemultirange NOT NULL
      )`);
    this.addSql('CREATE INDEX search_room_unavailable_nights ON search_room_unavailable USING gist (nights)');
    this.addSql(`
      INSERT INTO search_room_unavailable (room_id, nights)
      SELECT room_id, range_agg(daterange(night, night + 1)) FROM search_room_nights GROUP BY room_id`);
    this.addSql('DROP TABLE search_room_nights');

    this.addSql('DROP INDEX IF EXISTS search_rooms_tsv');
    this.addSql('ALTER TABLE search_rooms DROP COLUMN tsv');
    this.addSql(`ALTER TABLE search_rooms ADD COLUMN words text[] NOT NULL DEFAULT '{}'`);

    this.addSql('DROP TABLE search_words');
    this.addSql(`
      CREATE TABLE search_words (
        word  text PRIMARY KEY,
        -- Published rooms holding the word.
        rooms integer NOT NULL
      )`);
    this.addSql(`
      CREATE TABLE search_word_grams (
        gram   text NOT NULL,
        length integer NOT NULL,
        word   text NOT NULL,
        -- The candidate lookup reads this index only. No foreign key: the writer removes a word's grams with it.
        PRIMARY KEY (gram, length, word)
      )`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS search_word_grams, search_words, search_room_unavailable');
    this.addSql('ALTER TABLE search_rooms DROP COLUMN IF EXISTS words');
    this.addSql(`
      ALTER TABLE search_rooms ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A') ||
        setweight(to_tsvector('simple', coalesce(description, '')), 'B') ||
        setweight(to_tsvector('simple', address), 'C')) STORED`);
    this.addSql('CREATE INDEX search_rooms_tsv ON search_rooms USING gin (tsv) WHERE published');
    this.addSql(
      'CREATE TABLE search_room_nights (room_id uuid NOT NULL, night date NOT NULL, PRIMARY KEY (room_id, night))',
    );
    this.addSql('CREATE TABLE search_words (word text PRIMARY KEY)');
    this.addSql('CREATE INDEX search_words_trgm ON search_words USING gin (word gin_trgm_ops)');
  }
}
