import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Notifier } from '../commands/bookingProcess.js';
import type { StreamSnapshots } from '../commands/snapshots.js';
import type { RankingSettings } from '../domain/search/ranking.js';
import type { AnalyticsStore } from '../infra/analytics/analyticsStore.js';
import type { SearchLog } from '../infra/analytics/searchLog.js';
import type { LedgerSigner } from '../infra/audit/ledgerSigner.js';
import type { CredentialStore, DenyList, PasswordResets, SessionStore } from '../infra/auth/ports.js';
import type { TokenSubject } from '../infra/auth/tokens.js';
import type { Clock } from '../infra/clock/clock.js';
import type { Config } from '../infra/config/config.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import type { FileStore } from '../infra/fileStore/fileStore.js';
import type { Geocoder } from '../infra/geocoding/geocoder.js';
import type { NotificationFailures } from '../infra/notifications/ports.js';
import type { UnsubscribeTokens } from '../infra/notifications/unsubscribeTokens.js';
import type { RoomSearchReader } from '../infra/search/roomSearchIndex.js';
import type { NotificationQueries } from '../projections/notifications/notificationQueries.js';
import type { PgProjection } from '../projections/projection.js';
import type { FeedServices } from './feed/feedRoutes.js';
import type { ImageLimiter } from './imageLimiter.js';
import type { Metrics } from './plugins/metrics.js';

/** The identity context's command-side stores and keys. */
export interface IdentityServices {
  /** Names reservation streams (HMAC), so no email or phone appears in a stream id. */
  reservationKey: Buffer;
  credentials: CredentialStore;
  sessions: SessionStore;
  denyList: DenyList;
  passwordResets: PasswordResets;
  /** Mails to a person (by user id): password-reset links. */
  notifier: Notifier;
  signAccessToken(claims: TokenSubject): string;
  /** Crypto-shredding: destroys the person's data key. */
  eraseKeys(userId: string): Promise<void>;
}

/** Notifications: the read model's queries, the one-click unsubscribe tokens, the parked jobs for support. */
export interface NotificationServices {
  queries: NotificationQueries;
  unsubscribe: UnsubscribeTokens;
  failures: NotificationFailures;
}

/** Room search: the index reader and the ranking settings. */
export interface SearchServices {
  reader: RoomSearchReader;
  ranking: RankingSettings;
}

/** The warehouse and the search log; both null in a process that does not own the warehouse. */
export interface AnalyticsServices {
  store: AnalyticsStore | null;
  searchLog: SearchLog | null;
  /** Why `store` is null, for the 503 of the analytics routes. */
  unavailableReason: string | null;
}

/** Everything the HTTP app needs, built by the composition root (infra/main.ts) or a test. */
export interface AppDeps {
  config: Config;
  /** The one clock: routes pass its time to commands and queries. */
  clock: Clock;
  logger: Logger;
  /** The store as the application reads it (with upcasting). */
  eventStore: EventStore;
  /** Snapshots of the long streams (room calendars), read and taken by the commands on them. */
  snapshots: StreamSnapshots;
  /** The store as stored (no upcasting, personal data sealed): what hashes were computed over, for auditors. */
  rawEventStore: EventStore;
  /** PostgreSQL pool for command-side tables (idempotency) and status queries. */
  pool: pg.Pool;
  orm: MikroORM;
  redis: Redis;
  metrics: Metrics;
  projections: readonly PgProjection[];
  identity: IdentityServices;
  /** Signs ledger digests for auditors (Ed25519). */
  ledgerSigner: LedgerSigner;
  /** Signs the secret per-room calendar links (HMAC of the room id). */
  calendarLinkKey: Buffer;
  /** Null when GEOCODER=none: addresses then need a location. */
  geocoder: Geocoder | null;
  search: SearchServices;
  /** Room photos and their thumbnails, by content hash. */
  fileStore: FileStore;
  /** Bounds concurrent image decoding (IMAGE_DECODE_CONCURRENCY). */
  imageLimiter: ImageLimiter;
  /** The WebSocket feed: bus, presence and the lookups its frames need. */
  feed: FeedServices;
  notifications: NotificationServices;
  analytics: AnalyticsServices;
}
