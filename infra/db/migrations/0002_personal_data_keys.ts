import { Migration } from '@mikro-orm/migrations';

/**
 * One data key per person, wrapped with DATA_ENCRYPTION_KEY (docs/decisions/0006-crypto-shredding.md).
 * Erasure sets wrapped_key to NULL and destroyed_at; the row stays as the record that it happened and
 * so that no new key is ever made for that person.
 */
export class Migration0002PersonalDataKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE personal_data_keys (
        subject_id    uuid PRIMARY KEY,
        wrapped_key   bytea,
        created_at    timestamptz NOT NULL DEFAULT now(),
        destroyed_at  timestamptz,
        CONSTRAINT personal_data_keys_destroyed_has_no_key CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
      )`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS personal_data_keys');
  }
}
