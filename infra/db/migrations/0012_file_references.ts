import { Migration } from '@mikro-orm/migrations';

/**
 * The stored files events refer to, by owner (`room:<roomId>/photo:<photoId>`), written by the file-references
 * projection, which is never emptied: the photo purge keeps every file listed here, whatever read model rebuilds.
 */
export class Migration0012FileReferences extends Migration {
  override async up(): Promise<void> {
    this.addSql(`CREATE TABLE file_references (
      owner text NOT NULL,
      key text NOT NULL,
      PRIMARY KEY (owner, key)
    )`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS file_references');
  }
}
