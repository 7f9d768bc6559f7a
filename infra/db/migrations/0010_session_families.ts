import { Migration } from '@mikro-orm/migrations';

/**
 * Refresh-token families as rows of their own, so one statement can claim a token only while its family
 * is neither revoked nor past its absolute lifetime; single-use password-reset tokens, stored as hashes.
 */
export class Migration0010SessionFamilies extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE refresh_families (
        id          uuid PRIMARY KEY,
        user_id     uuid NOT NULL,
        created_at  timestamptz NOT NULL,
        expires_at  timestamptz NOT NULL,
        revoked_at  timestamptz
      )`);
    this.addSql('CREATE INDEX refresh_families_user ON refresh_families (user_id) WHERE revoked_at IS NULL');
    // Families already in use keep working until their tokens expire; they get the old tokens' longest life.
    this.addSql(`
      INSERT INTO refresh_families (id, user_id, created_at, expires_at, revoked_at)
      SELECT family_id, min(user_id::text)::uuid, min(created_at), max(expires_at),
             CASE WHEN bool_or(revoked_at IS NOT NULL) THEN max(revoked_at) END
        FROM refresh_tokens GROUP BY family_id`);
    this.addSql(`
      CREATE TABLE password_reset_tokens (
        token_hash  text PRIMARY KEY,
        user_id     uuid NOT NULL,
        created_at  timestamptz NOT NULL,
        expires_at  timestamptz NOT NULL,
        used_at     timestamptz
      )`);
    this.addSql('CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id)');
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS password_reset_tokens');
    this.addSql('DROP TABLE IF EXISTS refresh_families');
  }
}
