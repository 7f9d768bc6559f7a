import { Migration } from '@mikro-orm/migrations';

export class Migration0014Notifications extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE notifications (
        id               uuid PRIMARY KEY,
        user_id          uuid NOT NULL,
        kind             text NOT NULL,
        subject          jsonb NOT NULL,
        source_event_id  uuid NOT NULL,
        created_at       timestamptz NOT NULL,
        read_at          timestamptz,
        last_position    bigint NOT NULL
      )`);
    // A person's list, newest first (keyset by created_at, id).
    this.addSql('CREATE INDEX notifications_user_created ON notifications (user_id, created_at DESC, id DESC)');
    // A message digest: a person's unread message notifications of one conversation.
    this.addSql(
      "CREATE INDEX notifications_unread_messages ON notifications (user_id, (subject->>'conversationId'), created_at) WHERE kind = 'message_received' AND read_at IS NULL",
    );
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS notifications');
  }
}
