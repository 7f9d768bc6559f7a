import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { dataEncryptionKeyProblem } from '../crypto/dataEncryptionKey.js';

/**
 * Every setting Roomline reads from the environment. README.md lists them; the docker-compose test
 * checks that the app services set only variables named here.
 */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'HTTP port of the API' }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'interface the API listens on' }),
  ROOMLINE_PROCESS: Type.Union(
    [Type.Literal('all'), Type.Literal('api'), Type.Literal('projector'), Type.Literal('worker')],
    {
      default: 'all',
      description: 'which entry point runs: api, projector, worker, or all three in one process',
    },
  ),
  PROJECTIONS: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9_-]+(,[a-z0-9_-]+)*$',
      description:
        'projector processes: run only these projections (comma list of names; default all), e.g. the feed publisher alone',
    }),
  ),
  DATABASE_URL: Type.String({
    pattern: '^postgres(ql)?://',
    default: 'postgres://postgres:postgres@127.0.0.1:5432/roomline',
    description: 'PostgreSQL (with PostGIS) for read models, the embedded event store and idempotency keys',
  }),
  PG_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 20, description: 'connections per pool' }),
  REDIS_URL: Type.String({
    pattern: '^rediss?://',
    default: 'redis://127.0.0.1:6379',
    description: 'Redis for queues, cache and feed fan-out',
  }),
  QUEUE_PREFIX: Type.String({
    pattern: '^[a-zA-Z0-9_-]{1,40}$',
    default: 'roomline',
    description: 'Redis key prefix of the BullMQ queues (processes sharing queues share it)',
  }),
  EVENT_STORE: Type.Union([Type.Literal('postgres'), Type.Literal('esdb')], {
    default: 'postgres',
    description: 'event store adapter: postgres (embedded default) or esdb (EventStoreDB/KurrentDB)',
  }),
  EVENTSTORE_URL: Type.Optional(
    Type.String({
      pattern: '^(esdb|kurrentdb|esdb\\+discover|kurrentdb\\+discover)://',
      description: 'connection string when EVENT_STORE=esdb',
    }),
  ),
  SUBSCRIPTION_POLL_MS: Type.Integer({
    minimum: 10,
    maximum: 60000,
    default: 1000,
    description: 'fallback poll of the PostgreSQL event store when no NOTIFY arrives',
  }),
  FEED_REPLAY_MAX_EVENTS: Type.Integer({
    minimum: 100,
    maximum: 1000000,
    default: 20000,
    description: 'most events a WebSocket reconnect with ?since= scans; further behind, a feed:resync frame',
  }),
  FEED_TOKEN_CHECK_MS: Type.Integer({
    minimum: 100,
    maximum: 600000,
    default: 5000,
    description: 'how often an open WebSocket checks that its access token is not revoked',
  }),
  PRESENCE_HEARTBEAT_MS: Type.Integer({
    minimum: 100,
    maximum: 600000,
    default: 10000,
    description: 'heartbeat of feed presence in Redis (a dead process counts offline after 2.5 of these)',
  }),
  COMMAND_MAX_RETRIES: Type.Integer({
    minimum: 0,
    maximum: 50,
    default: 5,
    description: 'retries of a command after a concurrency conflict before 409',
  }),
  SNAPSHOT_EVERY_EVENTS: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 100,
    description:
      'a snapshot of a long stream (a room calendar) is taken once this many events were folded since the last',
  }),
  MIN_POSITION_WAIT_MS: Type.Integer({
    minimum: 0,
    maximum: 60000,
    default: 5000,
    description: 'longest wait for X-Min-Position before 503',
  }),
  JWT_SECRET: Type.String({
    minLength: 32,
    description: 'HMAC key (HS256) that signs and verifies access tokens; at least 32 characters',
  }),
  DATA_ENCRYPTION_KEY: Type.String({
    minLength: 1,
    description: "base64 of exactly 32 bytes: the key-encryption key wrapping every person's data key",
  }),
  AUDIT_SIGNING_KEY: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9+/]{43}=$',
      description:
        'base64 of the 32-byte Ed25519 seed that signs ledger digests (unset: derived from DATA_ENCRYPTION_KEY)',
    }),
  ),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'roomline', description: 'iss claim required on access tokens' }),
  JWT_AUDIENCE: Type.String({
    minLength: 1,
    default: 'roomline-api',
    description: 'aud claim required on access tokens',
  }),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({
    minimum: 60,
    maximum: 86400,
    default: 900,
    description: 'access token lifetime',
  }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({
    minimum: 300,
    maximum: 90 * 86400,
    default: 30 * 86400,
    description: 'refresh token lifetime (each one works once; reuse revokes its family)',
  }),
  REFRESH_FAMILY_MAX_AGE_SECONDS: Type.Integer({
    minimum: 300,
    maximum: 365 * 86400,
    default: 90 * 86400,
    description: 'absolute lifetime of a session (a refresh token family), however often it is refreshed',
  }),
  PASSWORD_RESET_TTL_MINUTES: Type.Integer({
    minimum: 5,
    maximum: 24 * 60,
    default: 30,
    description: 'how long a password-reset link works (once)',
  }),
  APP_URL: Type.String({
    pattern: '^https?://',
    default: 'http://localhost:3000',
    description: 'public address of the app, for links in mails (password reset)',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    {
      default: 'info',
      description: 'pino log level',
    },
  ),
  BODY_LIMIT_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 100 * 1024 * 1024,
    default: 1048576,
    description: 'largest JSON body accepted',
  }),
  BOOKING_HOLD_MINUTES: Type.Integer({
    minimum: 15,
    maximum: 7 * 24 * 60,
    default: 24 * 60,
    description: 'how long a pending booking holds its nights before it expires',
  }),
  MAX_PENDING_BOOKINGS_PER_TENANT: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 3,
    description: 'pending bookings a tenant may have at once; one more is refused with 422 TOO_MANY_PENDING_BOOKINGS',
  }),
  AVAILABILITY_HORIZON_DAYS: Type.Integer({
    minimum: 1,
    maximum: 3650,
    default: 730,
    description: 'how many days ahead of today a blocked-dates range may reach (422 BLOCK_BEYOND_HORIZON)',
  }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 100,
    description: 'requests per minute per signed-in user (per address when anonymous), counted in Redis',
  }),
  MESSAGE_RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 30,
    description: 'messages per minute a person may send (429 RATE_LIMITED beyond), counted in Redis',
  }),
  CORS_ORIGINS: Type.String({ default: '', description: 'comma-separated origins allowed by CORS (empty: none)' }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 120000,
    default: 10000,
    description: 'grace period for in-flight work on SIGTERM',
  }),
  DATA_DIR: Type.String({
    minLength: 1,
    default: '.data',
    description: 'local files: chDB analytics, photos, mail outbox',
  }),
  IMAGE_DECODE_CONCURRENCY: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 1,
    description:
      'photos decoded at once per process (libuv threads that sign-ins share); 8 per slot may wait, more get 503',
  }),
  SEARCH_BACKEND: Type.Union([Type.Literal('postgres'), Type.Literal('meilisearch')], {
    default: 'postgres',
    description: 'room search index adapter',
  }),
  MEILI_URL: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'Meilisearch URL when SEARCH_BACKEND=meilisearch' }),
  ),
  MEILI_MASTER_KEY: Type.Optional(Type.String({ description: 'Meilisearch API key' })),
  SEARCH_CACHE_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 300,
    default: 300,
    description: 'how long a search result stays in the Redis cache (0: off); a change to the rooms invalidates it',
  }),
  RANKING_WEIGHT_DISTANCE: Type.Number({
    minimum: 0,
    maximum: 100,
    default: 0.5,
    description: 'ranking weight of the distance score',
  }),
  RANKING_WEIGHT_AMENITY: Type.Number({
    minimum: 0,
    maximum: 100,
    default: 0.3,
    description: 'ranking weight of the amenity score',
  }),
  RANKING_WEIGHT_REVIEW: Type.Number({
    minimum: 0,
    maximum: 100,
    default: 0.2,
    description: 'ranking weight of the review score',
  }),
  RANKING_HALF_DISTANCE_METERS: Type.Integer({
    minimum: 50,
    maximum: 50_000,
    default: 2000,
    description: 'distance from the exam venue at which the distance score halves',
  }),
  REVIEW_WINDOW_DAYS: Type.Integer({
    minimum: 1,
    maximum: 365,
    default: 14,
    description: 'days after check-out in which tenant and landlord may review (double-blind until both or then)',
  }),
  REVIEW_PRIOR_MEAN: Type.Number({
    minimum: 1,
    maximum: 5,
    default: 3.5,
    description: 'prior mean rating of the Bayesian review score',
  }),
  REVIEW_PRIOR_WEIGHT: Type.Number({
    minimum: 0,
    maximum: 1000,
    default: 10,
    description: 'weight of the prior, in reviews',
  }),
  GEOCODER: Type.Union([Type.Literal('none'), Type.Literal('nominatim'), Type.Literal('google')], {
    default: 'none',
    description:
      'geocoder for addresses given without a location: none (a location is then required, 422), nominatim or google',
  }),
  NOMINATIM_URL: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'base URL of a Nominatim instance when GEOCODER=nominatim' }),
  ),
  NOMINATIM_MIN_INTERVAL_MS: Type.Integer({
    minimum: 0,
    maximum: 60_000,
    default: 1000,
    description: 'least time between Nominatim requests of one process (the public instance allows 1 per second)',
  }),
  GOOGLE_MAPS_API_KEY: Type.Optional(Type.String({ description: 'Google Geocoding API key when GEOCODER=google' })),
  GEOCODER_USER_AGENT: Type.String({
    minLength: 3,
    default: 'Roomline/0.1 (room booking platform; geocoding of room and venue addresses)',
    description: "User-Agent sent to the geocoder (Nominatim's usage policy requires one naming the application)",
  }),
  GEOCODER_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 60_000,
    default: 5000,
    description: 'timeout of one geocoding request',
  }),
  GEOCODER_CACHE_SIZE: Type.Integer({
    minimum: 0,
    maximum: 1_000_000,
    default: 5000,
    description: 'addresses kept in memory (0: no cache)',
  }),
  GEOCODER_CACHE_TTL_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 2_592_000,
    default: 86_400,
    description: 'how long a geocoding result (found or not) is kept',
  }),
  ANALYTICS_BACKEND: Type.Union([Type.Literal('chdb'), Type.Literal('clickhouse')], {
    default: 'chdb',
    description: 'analytics store adapter',
  }),
  CLICKHOUSE_URL: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'ClickHouse server when ANALYTICS_BACKEND=clickhouse' }),
  ),
  SMTP_URL: Type.Optional(
    Type.String({ pattern: '^smtps?://', description: 'SMTP relay; unset: mail goes to a file outbox under DATA_DIR' }),
  ),
  METRICS_TOKEN: Type.Optional(
    Type.String({
      minLength: 16,
      description: 'when set, GET /metrics needs Authorization: Bearer <METRICS_TOKEN> (401 without); unset: public',
    }),
  ),
  MAIL_FROM: Type.String({ default: 'Roomline <no-reply@roomline.local>', description: 'sender of outgoing mail' }),
  ROOMLINE_ADMIN_EMAIL: Type.Optional(
    Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$', description: 'first admin, created at start-up if absent' }),
  ),
  ROOMLINE_ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 10, description: 'password of the first admin' })),
});

export type Config = Readonly<Static<typeof ConfigSchema>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const integerKeys = new Set(
  Object.entries(ConfigSchema.properties)
    .filter(([, schema]) => (schema as { type?: string }).type === 'integer')
    .map(([key]) => key),
);

/** Reads, coerces and validates the environment once; throws one message per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    if (integerKeys.has(key)) {
      if (!/^-?\d+$/.test(value.trim())) {
        problems.push(`${key}=${JSON.stringify(value)}: expected a whole number`);
        continue;
      }
      raw[key] = Number(value);
    } else {
      raw[key] = value;
    }
  }
  const withDefaults = Value.Default(ConfigSchema, raw) as Record<string, unknown>;
  for (const error of Value.Errors(ConfigSchema, withDefaults)) {
    const key = error.path.replace(/^\//, '').split('/')[0] ?? error.path;
    if (problems.some((p) => p.startsWith(`${key}=`) || p.startsWith(`${key}:`))) continue;
    const shown = key in raw ? `=${JSON.stringify(isSecret(key) ? '***' : raw[key])}` : '';
    problems.push(`${key}${shown}: ${describe(key, error.message)}`);
  }
  const dataKey = withDefaults.DATA_ENCRYPTION_KEY;
  const dataKeyProblem = typeof dataKey === 'string' && dataKey !== '' ? dataEncryptionKeyProblem(dataKey) : undefined;
  if (dataKeyProblem) problems.push(`DATA_ENCRYPTION_KEY="***": ${dataKeyProblem}`);
  if (withDefaults.EVENT_STORE === 'esdb' && !withDefaults.EVENTSTORE_URL) {
    problems.push('EVENTSTORE_URL: required when EVENT_STORE=esdb');
  }
  if (withDefaults.SEARCH_BACKEND === 'meilisearch' && !withDefaults.MEILI_URL) {
    problems.push('MEILI_URL: required when SEARCH_BACKEND=meilisearch');
  }
  if (withDefaults.GEOCODER === 'nominatim' && !withDefaults.NOMINATIM_URL) {
    problems.push('NOMINATIM_URL: required when GEOCODER=nominatim');
  }
  if (withDefaults.GEOCODER === 'google' && !withDefaults.GOOGLE_MAPS_API_KEY) {
    problems.push('GOOGLE_MAPS_API_KEY: required when GEOCODER=google');
  }
  if (withDefaults.ANALYTICS_BACKEND === 'clickhouse' && !withDefaults.CLICKHOUSE_URL) {
    problems.push('CLICKHOUSE_URL: required when ANALYTICS_BACKEND=clickhouse');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(withDefaults) as Config;
}

function isSecret(key: string): boolean {
  return key.includes('SECRET') || key.includes('PASSWORD') || key.endsWith('_KEY') || key.endsWith('_TOKEN');
}

function describe(key: string, message: string): string {
  const schema = ConfigSchema.properties[key as keyof typeof ConfigSchema.properties] as
    | { description?: string }
    | undefined;
  return schema?.description ? `${message} (${schema.description})` : message;
}
