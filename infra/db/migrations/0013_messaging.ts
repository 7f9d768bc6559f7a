import { Migration } from '@mikro-orm/migrations';

/**
 * The messaging read model (projections/messaging): conversations with their last message and unread counts,
 * messages with their receipts, the photos uploaded for messages, and what the projection keeps of bookings to
 * know when a pair's contact details are no longer masked.
 */
export class Migration0013Messaging extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE conversations (
        id                  uuid PRIMARY KEY,
        participant_low     uuid NOT NULL,
        participant_high    uuid NOT NULL,
        room_id             uuid,
        booking_id          uuid,
        started_by          uuid NOT NULL,
        started_at          timestamptz NOT NULL,
        contact_unlocked    boolean NOT NULL DEFAULT false,
        message_count       integer NOT NULL DEFAULT 0,
        unread_low          integer NOT NULL DEFAULT 0,
        unread_high         integer NOT NULL DEFAULT 0,
        last_message_id     uuid,
        activity_at         timestamptz NOT NULL,
        revision            bigint NOT NULL,
        last_position       bigint NOT NULL
      )`);
    this.addSql('CREATE INDEX conversations_low ON conversations (participant_low, activity_at DESC, id DESC)');
    this.addSql('CREATE INDEX conversations_high ON conversations (participant_high, activity_at DESC, id DESC)');
    this.addSql(`
      CREATE TABLE messages (
        id              uuid PRIMARY KEY,
        conversation_id uuid NOT NULL,
        seq             integer NOT NULL,
        sender_id       uuid NOT NULL,
        recipient_id    uuid NOT NULL,
        body            text,
        erased          boolean NOT NULL DEFAULT false,
        photo_ids       jsonb NOT NULL DEFAULT '[]',
        sent_at         timestamptz NOT NULL,
        delivered_at    timestamptz,
        read_at         timestamptz,
        position        bigint NOT NULL,
        UNIQUE (conversation_id, seq)
      )`);
    this.addSql('CREATE INDEX messages_unread ON messages (conversation_id, recipient_id, seq) WHERE read_at IS NULL');
    this.addSql('CREATE INDEX messages_sender ON messages (sender_id)');
    this.addSql('CREATE INDEX messages_photos ON messages USING gin (photo_ids jsonb_path_ops)');
    this.addSql(`
      CREATE TABLE message_photos (
        photo_id      uuid PRIMARY KEY,
        uploader_id   uuid NOT NULL,
        key           text NOT NULL,
        thumbnail_key text NOT NULL,
        content_type  text NOT NULL,
        uploaded_at   timestamptz NOT NULL
      )`);
    this.addSql('CREATE INDEX message_photos_key ON message_photos (key)');
    this.addSql('CREATE INDEX message_photos_thumbnail_key ON message_photos (thumbnail_key)');
    this.addSql(`
      CREATE TABLE messaging_bookings (
        booking_id  uuid PRIMARY KEY,
        tenant_id   uuid NOT NULL,
        landlord_id uuid NOT NULL,
        confirmed   boolean NOT NULL DEFAULT false
      )`);
    this.addSql(
      'CREATE INDEX messaging_bookings_confirmed ON messaging_bookings (tenant_id, landlord_id) WHERE confirmed',
    );
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS messaging_bookings');
    this.addSql('DROP TABLE IF EXISTS message_photos');
    this.addSql('DROP TABLE IF EXISTS messages');
    this.addSql('DROP TABLE IF EXISTS conversations');
  }
}
