import { Migration } from '@mikro-orm/migrations';

/** Command-side secrets of the identity context: kept out of events, which live forever. */
export class Migration0003CredentialsSessions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE credentials (
        user_id        uuid PRIMARY KEY,
        password_hash  text NOT NULL,
        updated_at     timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`
      CREATE TABLE refresh_tokens (
        id           uuid PRIMARY KEY,
        family_id    uuid NOT NULL,
        user_id      uuid NOT NULL,
        token_hash   text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz NOT NULL,
        used_at      timestamptz,
        revoked_at   timestamptz
      )`);
    this.addSql('CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)');
    this.addSql('CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)');
    this.addSql('CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at)');
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS refresh_tokens');
    this.addSql('DROP TABLE IF EXISTS credentials');
  }
}
