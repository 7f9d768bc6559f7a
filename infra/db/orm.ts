import { Migrator } from '@mikro-orm/migrations';
import { type EntityManager, MikroORM, type Options } from '@mikro-orm/postgresql';
import { BookingViewSchema } from '../../projections/bookings/bookingView.js';
import { PaymentViewSchema } from '../../projections/payments/paymentView.js';
import { RoomViewSchema } from '../../projections/rooms/roomView.js';
import {
  ExamAssignmentViewSchema,
  ExamSessionViewSchema,
  ExamVenueViewSchema,
  UniversityViewSchema,
} from '../../projections/universities/universityViews.js';
import { UserViewSchema } from '../../projections/users/userView.js';
import { Migration0001Initial } from './migrations/0001_initial.js';
import { Migration0002PersonalDataKeys } from './migrations/0002_personal_data_keys.js';
import { Migration0003CredentialsSessions } from './migrations/0003_credentials_sessions.js';
import { Migration0004Users } from './migrations/0004_users.js';
import { Migration0005Bookings } from './migrations/0005_bookings.js';
import { Migration0006Payments } from './migrations/0006_payments.js';
import { Migration0007Universities } from './migrations/0007_universities.js';
import { Migration0008RoomSearch } from './migrations/0008_room_search.js';
import { Migration0009SearchRanges } from './migrations/0009_search_ranges.js';
import { Migration0010SessionFamilies } from './migrations/0010_session_families.js';
import { Migration0011RoomPhotoIndex } from './migrations/0011_room_photo_index.js';
import { Migration0012FileReferences } from './migrations/0012_file_references.js';
import { Migration0013Messaging } from './migrations/0013_messaging.js';
import { Migration0014Notifications } from './migrations/0014_notifications.js';
import { Migration0015NextHoldExpiry } from './migrations/0015_next_hold_expiry.js';
import { Migration0016SavedSearches } from './migrations/0016_saved_searches.js';
import { Migration0017Reviews } from './migrations/0017_reviews.js';
import { Migration0018AuditLedger } from './migrations/0018_audit_ledger.js';
import { Migration0019ProjectionOperations } from './migrations/0019_projection_operations.js';
import { Migration0020StreamSnapshots } from './migrations/0020_stream_snapshots.js';

export const migrations = [
  { name: '0001_initial', class: Migration0001Initial },
  { name: '0002_personal_data_keys', class: Migration0002PersonalDataKeys },
  { name: '0003_credentials_sessions', class: Migration0003CredentialsSessions },
  { name: '0004_users', class: Migration0004Users },
  { name: '0005_bookings', class: Migration0005Bookings },
  { name: '0006_payments', class: Migration0006Payments },
  { name: '0007_universities', class: Migration0007Universities },
  { name: '0008_room_search', class: Migration0008RoomSearch },
  { name: '0009_search_ranges', class: Migration0009SearchRanges },
  { name: '0010_session_families', class: Migration0010SessionFamilies },
  { name: '0011_room_photo_index', class: Migration0011RoomPhotoIndex },
  { name: '0012_file_references', class: Migration0012FileReferences },
  { name: '0013_messaging', class: Migration0013Messaging },
  { name: '0014_notifications', class: Migration0014Notifications },
  { name: '0015_next_hold_expiry', class: Migration0015NextHoldExpiry },
  { name: '0016_saved_searches', class: Migration0016SavedSearches },
  { name: '0017_reviews', class: Migration0017Reviews },
  { name: '0018_audit_ledger', class: Migration0018AuditLedger },
  { name: '0019_projection_operations', class: Migration0019ProjectionOperations },
  { name: '0020_stream_snapshots', class: Migration0020StreamSnapshots },
];

export interface OrmConnectionOptions {
  /** Shows in pg_stat_activity and the server log (%a). */
  applicationName?: string;
  /**
   * Commits without waiting for the WAL flush (synchronous_commit off): for connections that write only what the
   * event store can give again (read models and their checkpoints). A crash of the database server may lose their
   * last few milliseconds of commits, read models and checkpoints together, which the projection then replays.
   */
  asyncCommit?: boolean;
}

export function ormOptions(url: string, poolSize = 10, connection: OrmConnectionOptions = {}): Options {
  const { applicationName, asyncCommit = false } = connection;
  return {
    clientUrl: url,
    driverOptions: {
      connection: {
        ...(applicationName ? { application_name: applicationName } : {}),
        ...(asyncCommit ? { options: '-c synchronous_commit=off' } : {}),
      },
    },
    entities: [
      RoomViewSchema,
      UserViewSchema,
      BookingViewSchema,
      PaymentViewSchema,
      UniversityViewSchema,
      ExamVenueViewSchema,
      ExamSessionViewSchema,
      ExamAssignmentViewSchema,
    ],
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      tableName: 'schema_migrations',
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
    pool: { min: 0, max: poolSize },
    allowGlobalContext: false,
    debug: false,
  };
}

export function openOrm(url: string, poolSize = 10, connection: OrmConnectionOptions = {}): Promise<MikroORM> {
  return MikroORM.init(ormOptions(url, poolSize, connection));
}

export type Orm = MikroORM;
export type Em = EntityManager;
