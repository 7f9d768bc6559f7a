import { Migration } from '@mikro-orm/migrations';

export class Migration0007Universities extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE universities (
        id         uuid PRIMARY KEY,
        name       text NOT NULL,
        city       text NOT NULL,
        country    char(2) NOT NULL,
        location   geometry(Point, 4326) NOT NULL,
        created_at timestamptz NOT NULL
      )`);
    this.addSql(`
      CREATE TABLE exam_venues (
        id            uuid PRIMARY KEY,
        university_id uuid NOT NULL,
        name          text NOT NULL,
        address       text NOT NULL,
        location      geometry(Point, 4326) NOT NULL,
        capacity      integer,
        created_at    timestamptz NOT NULL
      )`);
    this.addSql('CREATE INDEX exam_venues_university ON exam_venues (university_id, name)');
    this.addSql(`
      CREATE TABLE exam_sessions (
        id            uuid PRIMARY KEY,
        university_id uuid NOT NULL,
        name          text NOT NULL,
        starts_on     date NOT NULL,
        ends_on       date NOT NULL,
        venue_ids     jsonb NOT NULL,
        created_at    timestamptz NOT NULL
      )`);
    this.addSql('CREATE INDEX exam_sessions_university ON exam_sessions (university_id, starts_on)');
    this.addSql(`
      CREATE TABLE exam_assignments (
        tenant_id     uuid NOT NULL,
        session_id    uuid NOT NULL,
        university_id uuid NOT NULL,
        venue_id      uuid NOT NULL,
        assigned_by   uuid NOT NULL,
        assigned_at   timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, session_id)
      )`);
    this.addSql('CREATE INDEX exam_assignments_venue ON exam_assignments (venue_id)');
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS exam_assignments, exam_sessions, exam_venues, universities');
  }
}
