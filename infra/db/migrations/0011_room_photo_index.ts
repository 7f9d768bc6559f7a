import { Migration } from '@mikro-orm/migrations';

/** Serving a photo asks which rooms show its key (`photos @> …`): a GIN index answers without a scan. */
export class Migration0011RoomPhotoIndex extends Migration {
  override async up(): Promise<void> {
    this.addSql('CREATE INDEX rooms_photos ON rooms USING gin (photos jsonb_path_ops)');
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX IF EXISTS rooms_photos');
  }
}
