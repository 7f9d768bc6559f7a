import { Migration } from '@mikro-orm/migrations';

export class Migration0005Bookings extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE bookings (
        id                   uuid PRIMARY KEY,
        reference            text NOT NULL UNIQUE,
        room_id              uuid NOT NULL,
        tenant_id            uuid NOT NULL,
        landlord_id          uuid NOT NULL,
        status               text NOT NULL,
        check_in             date NOT NULL,
        check_out            date NOT NULL,
        nights               integer NOT NULL,
        guests               integer NOT NULL,
        price_per_night      integer NOT NULL,
        total_amount         integer NOT NULL,
        currency             char(3) NOT NULL,
        cancellation_policy  text NOT NULL,
        cancellation_fee     integer,
        hold_expires_at      timestamptz NOT NULL,
        status_history       jsonb NOT NULL,
        created_at           timestamptz NOT NULL,
        updated_at           timestamptz NOT NULL,
        revision             bigint NOT NULL,
        last_position        bigint NOT NULL
      )`);
    this.addSql('CREATE INDEX bookings_tenant ON bookings (tenant_id, created_at DESC)');
    this.addSql('CREATE INDEX bookings_landlord ON bookings (landlord_id, created_at DESC)');
    this.addSql('CREATE INDEX bookings_room_nights ON bookings (room_id, check_in, check_out)');
    this.addSql("CREATE INDEX bookings_pending_hold ON bookings (hold_expires_at) WHERE status = 'pending'");
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS bookings');
  }
}
