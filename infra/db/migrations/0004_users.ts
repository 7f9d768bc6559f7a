import { Migration } from '@mikro-orm/migrations';

export class Migration0004Users extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE users (
        id                   uuid PRIMARY KEY,
        role                 text NOT NULL,
        university_id        uuid,
        email                text,
        phone                text,
        full_name            text,
        university_name      text,
        business_name        text,
        profile_picture_url  text,
        created_at           timestamptz NOT NULL,
        updated_at           timestamptz NOT NULL,
        erased_at            timestamptz,
        revision             bigint NOT NULL,
        last_position        bigint NOT NULL
      )`);
    this.addSql('CREATE INDEX users_role ON users (role)');
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS users');
  }
}
