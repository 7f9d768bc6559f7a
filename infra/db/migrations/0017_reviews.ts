import { Migration } from '@mikro-orm/migrations';

/**
 * The reviews read model (projections/reviews): one row per booking's pair of reviews (its window, for the sweep
 * that publishes at its end), the reviews themselves (public once published and not hidden) and their responses.
 * Comments and bodies are the authors' personal data: set to NULL on their erasure.
 */
export class Migration0017Reviews extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE review_windows (
        booking_id       uuid PRIMARY KEY,
        room_id          uuid NOT NULL,
        window_closes_at timestamptz NOT NULL,
        published_at     timestamptz,
        revision         bigint NOT NULL,
        last_position    bigint NOT NULL
      )`);
    this.addSql('CREATE INDEX review_windows_due ON review_windows (window_closes_at) WHERE published_at IS NULL');
    this.addSql(`
      CREATE TABLE reviews (
        id            uuid PRIMARY KEY,
        booking_id    uuid NOT NULL,
        room_id       uuid NOT NULL,
        side          text NOT NULL,
        author_id     uuid NOT NULL,
        subject_id    uuid NOT NULL,
        rating        smallint NOT NULL,
        comment       text,
        erased        boolean NOT NULL DEFAULT false,
        submitted_at  timestamptz NOT NULL,
        published_at  timestamptz,
        hidden_at     timestamptz,
        hidden_by     uuid,
        hidden_reason text,
        position      bigint NOT NULL
      )`);
    this.addSql(
      `CREATE INDEX reviews_public ON reviews (room_id, published_at DESC, id DESC)
         WHERE side = 'tenant' AND published_at IS NOT NULL AND hidden_at IS NULL`,
    );
    this.addSql('CREATE INDEX reviews_author ON reviews (author_id)');
    this.addSql(`
      CREATE TABLE review_responses (
        id            uuid PRIMARY KEY,
        review_id     uuid NOT NULL UNIQUE,
        booking_id    uuid NOT NULL,
        author_id     uuid NOT NULL,
        body          text,
        erased        boolean NOT NULL DEFAULT false,
        responded_at  timestamptz NOT NULL,
        hidden_at     timestamptz,
        hidden_by     uuid,
        hidden_reason text
      )`);
    this.addSql('CREATE INDEX review_responses_author ON review_responses (author_id)');
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS review_responses, reviews, review_windows');
  }
}
