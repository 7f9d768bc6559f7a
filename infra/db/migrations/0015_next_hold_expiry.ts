import { Migration } from '@mikro-orm/migrations';

/**
 * The earliest expiry among a room's unconfirmed holds, beside the search projection's state: the minute sweep that
 * records expired holds finds its candidates through an index instead of reading every room's calendar JSON.
 */
export class Migration0015NextHoldExpiry extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE search_room_state ADD COLUMN next_hold_expiry timestamptz');
    this.addSql(`UPDATE search_room_state s SET next_hold_expiry = (
        SELECT min((h.hold->>'expiresAt')::timestamptz)
          FROM jsonb_each(s.state->'calendar'->'held') AS h(night, hold)
         WHERE h.hold->>'expiresAt' IS NOT NULL)`);
    this.addSql(
      'CREATE INDEX search_room_state_next_hold_expiry ON search_room_state (next_hold_expiry) WHERE next_hold_expiry IS NOT NULL',
    );
  }

  override async down(): Promise<void> {
    this.addSql('ALTER TABLE search_room_state DROP COLUMN IF EXISTS next_hold_expiry');
  }
}
