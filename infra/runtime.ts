import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type DestinationStream, type Logger, pino } from 'pino';
import sharp from 'sharp';
import { bookingProcessManager } from '../commands/bookingProcess.js';
import type { BookingSweepQueries } from '../commands/bookingSweeps.js';
import { notificationProcessManager } from '../commands/notifications.js';
import { savedSearchMatcher } from '../commands/savedSearches.js';
import { StreamSnapshots } from '../commands/snapshots.js';
import { bookingPersonalDataPolicy } from '../domain/bookings/events.js';
import { bookingUpcasters } from '../domain/bookings/upcasters.js';
import { personalDataPolicy } from '../domain/identity/events.js';
import { messagingPersonalDataPolicy } from '../domain/messaging/events.js';
import { reviewPersonalDataPolicy } from '../domain/reviews/events.js';
import { roomUpcasters } from '../domain/rooms/upcasters.js';
import type { RankingSettings } from '../domain/search/ranking.js';
import {
  analyticsProjection,
  analyticsProjectionElsewhere,
  analyticsProjectionName,
} from '../projections/analytics/analyticsProjection.js';
import { ledgerProjection } from '../projections/audit/ledgerProjection.js';
import { endedStaysQuery, expiredHoldsQuery } from '../projections/bookings/bookingQueries.js';
import { bookingsProjection } from '../projections/bookings/bookingsProjection.js';
import { createFeedFacts } from '../projections/feed/feedFacts.js';
import { feedProjection } from '../projections/feed/feedProjection.js';
import { messagingProjection } from '../projections/messaging/messagingProjection.js';
import { createMessagingQueries } from '../projections/messaging/messagingQueries.js';
import { notificationDelivery } from '../projections/notifications/notificationDelivery.js';
import { notificationQueries } from '../projections/notifications/notificationQueries.js';
import { notificationsProjection } from '../projections/notifications/notificationsProjection.js';
import { overduePaymentsQuery } from '../projections/payments/paymentQueries.js';
import { paymentsProjection } from '../projections/payments/paymentsProjection.js';
import { type PgProjection, TransientProjectionError } from '../projections/projection.js';
import { createReviewQueries } from '../projections/reviews/reviewQueries.js';
import { reviewsProjection } from '../projections/reviews/reviewsProjection.js';
import { fileReferencesProjection } from '../projections/rooms/fileReferencesProjection.js';
import { roomsProjection } from '../projections/rooms/roomsProjection.js';
import { savedSearchesProjection } from '../projections/savedSearches/savedSearchesProjection.js';
import { createSavedSearchQueries } from '../projections/savedSearches/savedSearchQueries.js';
import { roomsWithExpiredHoldsQuery } from '../projections/search/expiredHolds.js';
import { roomSearchProjection } from '../projections/search/roomSearchProjection.js';
import { projectionLag } from '../projections/status.js';
import { universitiesProjection } from '../projections/universities/universitiesProjection.js';
import { addressQuery } from '../projections/users/userQueries.js';
import { usersProjection } from '../projections/users/usersProjection.js';
import type { AnalyticsServices, IdentityServices, NotificationServices, SearchServices } from '../read-api/deps.js';
import type { FeedServices } from '../read-api/feed/feedRoutes.js';
import { createImageLimiter, type ImageLimiter } from '../read-api/imageLimiter.js';
import { createMetrics, type Metrics } from '../read-api/plugins/metrics.js';
import type { WorkerDeps } from '../workers/startWorkers.js';
import type { AnalyticsStore } from './analytics/analyticsStore.js';
import { createAnalyticsStore } from './analytics/createAnalyticsStore.js';
import { createSearchLog } from './analytics/searchLog.js';
import { createLedgerSigner, type LedgerSigner } from './audit/ledgerSigner.js';
import { PostgresCredentialStore } from './auth/credentials.js';
import { AccessDenyList } from './auth/denyList.js';
import { PasswordResetStore } from './auth/passwordResets.js';
import { RefreshTokenStore } from './auth/sessions.js';
import { accessTokenSigner } from './auth/tokens.js';
import { type Clock, systemClock } from './clock/clock.js';
import type { Config } from './config/config.js';
import { deriveKey } from './crypto/derivedKeys.js';
import { withPersonalData } from './crypto/personalDataStore.js';
import { PostgresPersonalDataVault } from './crypto/personalDataVault.js';
import { openOrm } from './db/orm.js';
import { createKurrentEventStore } from './eventStore/esdb/kurrentEventStore.js';
import type { EventStore } from './eventStore/eventStore.js';
import { PostgresEventStore } from './eventStore/postgres/postgresEventStore.js';
import { UpcasterRegistry, withUpcasting } from './eventStore/upcasting.js';
import { RedisFeedSubscriber, redisFeedPublisher } from './feed/redisFeedBus.js';
import type { FileStore } from './fileStore/fileStore.js';
import { LocalFileStore } from './fileStore/localFileStore.js';
import { createGeocoder } from './geocoding/createGeocoder.js';
import type { Geocoder } from './geocoding/geocoder.js';
import type { Mailer } from './mail/mailer.js';
import { mailNotifier } from './mail/mailNotifier.js';
import { createMailer } from './mail/transports.js';
import { bullNotificationFailures, bullNotificationJobs } from './notifications/bullNotificationJobs.js';
import { createPushOutbox, createSmsOutbox } from './notifications/outbox.js';
import type { NotificationJobs, NotificationQueueJob, PushSender, SmsSender } from './notifications/ports.js';
import { unsubscribeTokens } from './notifications/unsubscribeTokens.js';
import type { Presence } from './presence/presence.js';
import { RedisPresence } from './presence/redisPresence.js';
import { type BookingTimerJob, bullBookingTimers } from './queues/bookingTimers.js';
import {
  boundedQueueCall,
  createQueue,
  type MailJob,
  producerConnection,
  type QueueConnection,
  QueueNames,
  QueueUnavailable,
  queueConnection,
} from './queues/queues.js';
import { createMeiliRoomSearch } from './search/meilisearch/meiliRoomSearch.js';
import {
  PG_ROOM_SEARCH_TABLES,
  pgRoomSearchReader,
  pgRoomSearchWriter,
  poolSql,
  transactionSql,
} from './search/postgres/pgRoomSearch.js';
import type { RoomSearchReader } from './search/roomSearchIndex.js';
import { PostgresSnapshotStore } from './snapshots/postgresSnapshotStore.js';

/** The read models. The runtime adds the process managers, which need its adapters. */
export const projections: readonly PgProjection[] = [
  roomsProjection,
  fileReferencesProjection,
  usersProjection,
  bookingsProjection,
  paymentsProjection,
  universitiesProjection,
  messagingProjection,
  notificationsProjection,
  savedSearchesProjection,
  reviewsProjection,
  ledgerProjection,
];
export const upcasters = new UpcasterRegistry([...roomUpcasters, ...bookingUpcasters]);

/** The adapters one process uses, built from the validated config: the composition root's raw material. */
export interface Runtime {
  config: Config;
  /** The one clock every part of the app reads. */
  clock: Clock;
  logger: Logger;
  pool: pg.Pool;
  /** Events as stored (audit, hash verification). */
  rawEventStore: EventStore;
  /** Events as the application reads them (upcast). */
  eventStore: EventStore;
  /** Snapshots of the long streams (room calendars) in PostgreSQL, whichever event store holds the events. */
  snapshots: StreamSnapshots;
  orm: MikroORM;
  /**
   * Opens the projection runner's own connections. They write only what the event store can give again (read models,
   * checkpoints, parked events), so they commit without waiting for the WAL flush; the event store's appends, the
   * process managers' included, go through `pool` and stay durable at commit.
   */
  openRunnerOrm(): Promise<MikroORM>;
  redis: Redis;
  metrics: Metrics;
  /** Read models and process managers, as the projection runner runs them. */
  projections: readonly PgProjection[];
  /** Where queues and workers connect (QUEUE_PREFIX). */
  queueConnection: QueueConnection;
  queues: {
    mail: Queue<MailJob>;
    bookingTimers: Queue<BookingTimerJob>;
    maintenance: Queue;
    /** A producer without an offline queue: adds fail fast while Redis is away. */
    notifications: Queue<NotificationQueueJob>;
  };
  /** SMTP when SMTP_URL is set, otherwise the file outbox; the mail worker sends through it. */
  mailer: Mailer;
  /** Candidates of the booking sweeps, from the bookings and payments query modules. */
  sweepQueries: BookingSweepQueries;
  /** A person's address from the users read model: undefined when unknown (yet), null when erased. */
  addressOf(userId: string): Promise<string | null | undefined>;
  identity: IdentityServices;
  calendarLinkKey: Buffer;
  /** Signs ledger digests (AUDIT_SIGNING_KEY). */
  ledgerSigner: LedgerSigner;
  fileStore: FileStore;
  imageLimiter: ImageLimiter;
  /** Null when GEOCODER=none: addresses then need a location. */
  geocoder: Geocoder | null;
  search: SearchServices;
  /** Who holds a feed socket on any API process (heartbeats in Redis). */
  presence: Presence;
  /** The WebSocket feed's bus (a subscriber connection that opens on the first socket), presence and lookups. */
  feed: FeedServices;
  /** Notifications: what the routes use, and the channels and jobs the notification worker sends through. */
  notifications: NotificationServices & {
    jobs: NotificationJobs;
    sms: SmsSender;
    push: PushSender;
    unsubscribeUrl(userId: string, kind: string): string;
  };
  /** The warehouse (null in a process that may not own it: see `analyticsOwner`), the search log. */
  analytics: AnalyticsServices;
  close(): Promise<void>;
}

/**
 * Which processes open the warehouse. A ClickHouse server takes every API and projector process. chDB's files
 * take one process only (the engine locks DATA_DIR/analytics): the process that runs the analytics projection,
 * `all` or `projector` with PROJECTIONS unset or naming `analytics`. Any other process on chDB has no warehouse: its
 * analytics routes answer 503 with the reason and its searches are not logged. Workers never use it.
 */
export function analyticsOwner(config: Pick<Config, 'ANALYTICS_BACKEND' | 'ROOMLINE_PROCESS' | 'PROJECTIONS'>): {
  owns: boolean;
  reason: string | null;
} {
  const role = config.ROOMLINE_PROCESS;
  if (role === 'worker') return { owns: false, reason: 'worker processes do not use the analytics store' };
  if (config.ANALYTICS_BACKEND === 'clickhouse') return { owns: true, reason: null };
  const runsProjection =
    (role === 'all' || role === 'projector') &&
    (!config.PROJECTIONS || config.PROJECTIONS.split(',').includes(analyticsProjectionName));
  if (runsProjection) return { owns: true, reason: null };
  return {
    owns: false,
    reason:
      'analytics runs on chDB, whose files belong to the one process that runs the analytics projection; serve analytics from every API process with ANALYTICS_BACKEND=clickhouse',
  };
}

/** What the notification worker sends through, from the runtime (infra/main.ts, tests). */
export function notificationWorkerDeps(runtime: Runtime): NonNullable<WorkerDeps['notifications']> {
  return {
    eventStore: runtime.eventStore,
    sms: runtime.notifications.sms,
    push: runtime.notifications.push,
    presence: runtime.presence,
    jobs: runtime.notifications.jobs,
    queries: runtime.notifications.queries,
    appUrl: runtime.config.APP_URL,
    unsubscribeUrl: runtime.notifications.unsubscribeUrl,
  };
}

/**
 * A request as logged: what Fastify's own serializer keeps, with secrets in the query string redacted (the WebSocket
 * feed takes its access token as `?token=`, which would otherwise land in every request log line).
 */
function requestForLog(request: {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}) {
  return {
    method: request.method,
    url: request.url.replace(/([?&](?:token|access_token)=)[^&#]*/gi, '$1[redacted]'),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.LOG_LEVEL,
      base: { service: 'roomline' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { req: requestForLog },
      // Never in logs: credentials and personal data, wherever they appear.
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.email',
          '*.phone',
          '*.fullName',
          '*.accessToken',
          '*.refreshToken',
          'password',
          'email',
          'phone',
          'fullName',
        ],
        censor: '[redacted]',
      },
    },
    destination as DestinationStream,
  );
}

/** The ranking weights and priors from the config (domain/search/ranking.ts documents the formula). */
export function rankingSettings(config: Config): RankingSettings {
  return {
    weights: {
      distance: config.RANKING_WEIGHT_DISTANCE,
      amenity: config.RANKING_WEIGHT_AMENITY,
      review: config.RANKING_WEIGHT_REVIEW,
    },
    halfDistanceMeters: config.RANKING_HALF_DISTANCE_METERS,
    reviewPrior: { mean: config.REVIEW_PRIOR_MEAN, weight: config.REVIEW_PRIOR_WEIGHT },
  };
}

/** The room search index chosen by SEARCH_BACKEND: what reads it, and the projection that feeds it. */
function createSearch(
  config: Config,
  pool: pg.Pool,
): { reader: RoomSearchReader; projection: PgProjection; ready?: () => Promise<void> } {
  if (config.SEARCH_BACKEND === 'meilisearch') {
    const meili = createMeiliRoomSearch({ url: config.MEILI_URL!, apiKey: config.MEILI_MASTER_KEY });
    return {
      reader: meili.reader,
      projection: roomSearchProjection(() => meili.writer, transactionSql),
      // The index settings (filterable and sortable attributes, geo) are applied by code at start-up.
      ready: () => meili.ensureSettings(),
    };
  }
  return {
    reader: pgRoomSearchReader(poolSql(pool)),
    projection: roomSearchProjection(
      (em) => pgRoomSearchWriter(transactionSql(em)),
      transactionSql,
      PG_ROOM_SEARCH_TABLES,
    ),
  };
}

/**
 * One libvips thread per image, and IMAGE_DECODE_CONCURRENCY images at once: sharp then holds at most that many
 * of libuv's threads, and argon2 sign-ins keep the others.
 */
function imageLimiter(config: Config, metrics: Metrics): ImageLimiter {
  sharp.concurrency(1);
  return createImageLimiter({
    concurrency: config.IMAGE_DECODE_CONCURRENCY,
    maxQueued: 8 * config.IMAGE_DECODE_CONCURRENCY,
    registry: metrics.registry,
  });
}

export async function createRuntime(
  config: Config,
  logger = createLogger(config),
  clock: Clock = systemClock,
): Promise<Runtime> {
  if (config.RANKING_WEIGHT_DISTANCE + config.RANKING_WEIGHT_AMENITY + config.RANKING_WEIGHT_REVIEW <= 0) {
    throw new Error('RANKING_WEIGHT_*: at least one ranking weight must be above 0');
  }
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
  redis.on('error', (error) => logger.warn({ err: error.message }, 'Redis connection error'));
  // Once connected, a command while Redis is away fails at once instead of waiting in the offline queue (13 s
  // and more with the default retries, measured): a request never waits for Redis, it answers 503. Duplicates
  // made before (lazy connections such as the feed's subscriber) keep their queue for their first connect.
  redis.once('ready', () => {
    redis.options.enableOfflineQueue = false;
  });
  // Built first, Nominatim's rate shared by every process through Redis: a geocoder configured without its
  // URL or key stops the start-up here, before anything else is opened.
  let geocoder: Geocoder | null;
  try {
    geocoder = createGeocoder(config, redis);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  // Opened (and migrated) before anything else that would need closing: a chDB directory another process holds
  // stops the start-up here, with the engine's message.
  const owner = analyticsOwner(config);
  let analyticsStore: AnalyticsStore | null = null;
  if (owner.owns) {
    analyticsStore = createAnalyticsStore(config);
    try {
      await analyticsStore.migrate();
    } catch (error) {
      redis.disconnect();
      await analyticsStore.close().catch(() => {});
      throw new Error(`the analytics store did not open: ${(error as Error).message}`);
    }
  }
  const searchLog =
    analyticsStore && config.ROOMLINE_PROCESS !== 'projector'
      ? createSearchLog({ store: analyticsStore, logger })
      : null;
  const applicationName =
    `roomline-${config.ROOMLINE_PROCESS}${config.PROJECTIONS ? `:${config.PROJECTIONS}` : ''}`.slice(0, 63);
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.PG_POOL_SIZE,
    // Which kind of process a connection serves shows in pg_stat_activity and in the server log (%a).
    application_name: applicationName,
    // No parallel workers: on a few cores, starting them costs more than short OLTP and search queries gain.
    // Custom plans for prepared statements: a search's plan depends on its box and filters, not only its shape.
    options: '-c max_parallel_workers_per_gather=0 -c plan_cache_mode=force_custom_plan',
  });
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle PostgreSQL connection failed'));
  let eventStoreRef: EventStore | undefined;
  let allProjections: readonly PgProjection[] = projections;
  const metrics = createMetrics(async () => (eventStoreRef ? projectionLag(pool, eventStoreRef, allProjections) : []));
  const rawEventStore: EventStore =
    config.EVENT_STORE === 'esdb'
      ? createKurrentEventStore(config.EVENTSTORE_URL!)
      : new PostgresEventStore({
          pool,
          connectionString: config.DATABASE_URL,
          pollIntervalMs: config.SUBSCRIPTION_POLL_MS,
          onAppend: (ms, events) => {
            metrics.appendDuration.observe(ms / 1000);
            metrics.appendedEvents.inc(events);
          },
        });
  // Personal data is sealed per person before it is stored (crypto-shredding), then upcast on reads.
  const vault = new PostgresPersonalDataVault({ pool, keyEncryptionKey: config.DATA_ENCRYPTION_KEY });
  const eventStore = withUpcasting(
    withPersonalData(rawEventStore, vault, {
      ...personalDataPolicy,
      ...bookingPersonalDataPolicy,
      ...messagingPersonalDataPolicy,
      ...reviewPersonalDataPolicy,
    }),
    upcasters,
  );
  eventStoreRef = eventStore;
  const orm = await openOrm(config.DATABASE_URL, config.PG_POOL_SIZE, { applicationName });
  const at = queueConnection(config.REDIS_URL, config.QUEUE_PREFIX);
  const queues = {
    // Producers fail fast while Redis is away (no offline queue): the process manager retries, a request answers 503.
    mail: createQueue<MailJob>(QueueNames.mail, producerConnection(at)),
    bookingTimers: createQueue<BookingTimerJob>(QueueNames.bookingTimers, producerConnection(at)),
    maintenance: createQueue(QueueNames.maintenance, at),
    notifications: createQueue<NotificationQueueJob>(QueueNames.notifications, producerConnection(at)),
  };
  for (const queue of Object.values(queues)) {
    queue.on('error', (error) => logger.warn({ err: error.message, queue: queue.name }, 'queue error'));
  }
  const mailer = createMailer(config);
  const notificationJobs = bullNotificationJobs(queues.notifications, clock);
  const unsubscribe = unsubscribeTokens(deriveKey(config.DATA_ENCRYPTION_KEY, 'unsubscribe'));
  const appUrl = config.APP_URL.replace(/\/$/, '');
  const bookingTimers = bullBookingTimers(queues.bookingTimers, clock);
  const mailToPerson = mailNotifier(queues.mail);
  const transientWhileQueueAway = async (work: () => Promise<void>) => {
    try {
      await boundedQueueCall('a job', work, 2_000);
    } catch (error) {
      if (error instanceof QueueUnavailable) throw new TransientProjectionError(error.message);
      throw error;
    }
  };
  const search = createSearch(config, pool);
  await search.ready?.();
  const messagingLookups = createMessagingQueries(pool);
  const feedPublisher = redisFeedPublisher(redis, config.QUEUE_PREFIX);
  const feedFacts = createFeedFacts({
    eventStore,
    unlockedAmong: (conversationIds) => messagingLookups.unlockedAmong(conversationIds),
  });
  allProjections = [
    ...projections,
    search.projection,
    feedProjection({ publisher: feedPublisher, factsOf: feedFacts, logger }),
    bookingProcessManager({
      store: eventStore,
      clock,
      // Bounded, and transient when Redis is away: the runner retries the batch instead of waiting inside its
      // transaction (which would hold back every subscription) or parking the event.
      timers: { schedule: (timer) => transientWhileQueueAway(() => bookingTimers.schedule(timer)) },
    }),
    // Presence is made below; the process manager asks it only once the runtime is running.
    notificationProcessManager({
      store: eventStore,
      clock,
      presence: { isOnline: (userId) => presence.isOnline(userId) },
    }),
    savedSearchMatcher({ store: eventStore, clock, searches: createSavedSearchQueries(pool) }),
    notificationDelivery({ jobs: notificationJobs, clock }),
    analyticsStore
      ? analyticsProjection({ store: analyticsStore, eventStore })
      : analyticsProjectionElsewhere(owner.reason ?? 'this process does not own the warehouse'),
  ];
  // A request never waits on Redis for a mail: it answers 503 when the queue does not take it within 2 s.
  const boundedMailNotifier: typeof mailToPerson = {
    notify: (notice) => boundedQueueCall('a mail', () => mailToPerson.notify(notice), 2_000),
  };
  const identity: IdentityServices = {
    reservationKey: deriveKey(config.DATA_ENCRYPTION_KEY, 'reservation-names'),
    credentials: new PostgresCredentialStore(pool),
    sessions: new RefreshTokenStore(pool, {
      tokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      familyMaxAgeSeconds: config.REFRESH_FAMILY_MAX_AGE_SECONDS,
      now: () => clock.now(),
    }),
    denyList: new AccessDenyList(redis, config.ACCESS_TOKEN_TTL_SECONDS, undefined, () => clock.now().getTime()),
    passwordResets: new PasswordResetStore(pool, config.PASSWORD_RESET_TTL_MINUTES * 60, () => clock.now()),
    notifier: boundedMailNotifier,
    signAccessToken: accessTokenSigner({
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    }),
    eraseKeys: (userId) => vault.destroy(userId),
  };
  const presence = new RedisPresence(redis, { prefix: config.QUEUE_PREFIX, heartbeatMs: config.PRESENCE_HEARTBEAT_MS });
  // Its own connection (a subscribed connection takes no other commands), opened by the first socket's SUBSCRIBE.
  const feedSubscriber = new RedisFeedSubscriber(
    redis.duplicate({
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      enableAutoPipelining: false,
    }),
    config.QUEUE_PREFIX,
    (error) => logger.warn({ err: error.message }, 'feed subscriber connection error'),
  );
  const feed: FeedServices = {
    subscriber: feedSubscriber,
    publisher: feedPublisher,
    presence,
    factsOf: feedFacts,
    partnersOf: (userId) => messagingLookups.conversationPartnersOf(userId),
  };
  return {
    clock,
    identity,
    presence,
    feed,
    notifications: {
      queries: notificationQueries(pool),
      unsubscribe,
      failures: bullNotificationFailures(queues.notifications),
      jobs: notificationJobs,
      sms: createSmsOutbox(join(config.DATA_DIR, 'outbox-sms'), () => clock.now()),
      push: createPushOutbox(join(config.DATA_DIR, 'outbox-push'), () => clock.now()),
      unsubscribeUrl: (userId, kind) =>
        `${appUrl}/api/notifications/unsubscribe?token=${encodeURIComponent(unsubscribe.sign(userId, kind as never))}`,
    },
    calendarLinkKey: deriveKey(config.DATA_ENCRYPTION_KEY, 'calendar-links'),
    ledgerSigner: createLedgerSigner(
      config.AUDIT_SIGNING_KEY
        ? Buffer.from(config.AUDIT_SIGNING_KEY, 'base64')
        : deriveKey(config.DATA_ENCRYPTION_KEY, 'audit-ledger-signing'),
    ),
    fileStore: new LocalFileStore(join(config.DATA_DIR, 'files')),
    imageLimiter: imageLimiter(config, metrics),
    geocoder,
    search: { reader: search.reader, ranking: rankingSettings(config) },
    config,
    logger,
    pool,
    rawEventStore,
    eventStore,
    snapshots: new StreamSnapshots({
      store: new PostgresSnapshotStore(pool),
      every: config.SNAPSHOT_EVERY_EVENTS,
      onError: (error, streamId) =>
        logger.warn({ err: (error as Error).message, streamId }, 'snapshot not used; the stream is folded in full'),
    }),
    orm,
    openRunnerOrm: () =>
      openOrm(config.DATABASE_URL, config.PG_POOL_SIZE, {
        applicationName: `${applicationName.slice(0, 56)}:runner`,
        asyncCommit: true,
      }),
    redis,
    metrics,
    projections: allProjections,
    queueConnection: at,
    queues,
    mailer,
    sweepQueries: {
      expiredHolds: expiredHoldsQuery(pool),
      endedStays: endedStaysQuery(pool),
      overduePayments: overduePaymentsQuery(pool),
      calendarsWithExpiredHolds: roomsWithExpiredHoldsQuery(pool),
      closedReviewWindows: (now, limit) => createReviewQueries(pool).windowsClosedBy(now, limit),
    },
    addressOf: addressQuery(pool),
    analytics: { store: analyticsStore, searchLog, unavailableReason: owner.reason },
    async close() {
      await searchLog?.close().catch(() => {});
      await presence.close().catch(() => {});
      await feedSubscriber.close().catch(() => {});
      await Promise.allSettled(Object.values(queues).map((queue) => queue.close()));
      await mailer.close().catch(() => {});
      await rawEventStore.close();
      await orm.close(true);
      redis.disconnect();
      await pool.end();
      await analyticsStore?.close().catch(() => {});
    },
  };
}
