import { AnalyticsStoreError, dateTimeText } from './analyticsStore.js';

/**
 * The warehouse: the same DDL on chDB and on a ClickHouse server. Each table is a ReplacingMergeTree whose sorting
 * key ends with the row's own id and begins with columns that never change for that id, so a replay (the same rows
 * inserted again, or a newer version of a booking) leaves one row per id under `FINAL`. Person ids (tenant,
 * landlord) are never part of a sorting key: erasure (`./erasure.ts`) blanks them with `ALTER TABLE … UPDATE`,
 * which cannot touch key columns. Landlord dashboards find their rows through a bloom-filter skip index instead.
 * No message text, review text or free-text search is stored: messages and reviews are counted, not kept.
 *
 * Times are `DateTime64(3, 'UTC')`, dates `Date`, money `Int64` in minor units with its ISO currency.
 */
export const ANALYTICS_TABLES = ['events', 'bookings', 'payments', 'searches', 'messages', 'reviews'] as const;

export type AnalyticsTable = (typeof ANALYTICS_TABLES)[number];

/** A time as a Date or as `YYYY-MM-DD hh:mm:ss[.sss]` text in UTC. */
export type AnalyticsTime = Date | string;
/** A calendar date, `YYYY-MM-DD`. */
export type AnalyticsDate = string;

export interface EventRow {
  event_id: string;
  type: string;
  stream_id: string;
  position: number | bigint;
  recorded_at: AnalyticsTime;
  actor_role: string;
  room_id?: string;
  landlord_id?: string;
  tenant_id?: string;
  booking_id?: string;
  venue_id?: string;
  city?: string;
}

export interface BookingRow {
  booking_id: string;
  room_id: string;
  landlord_id: string;
  tenant_id: string;
  venue_id?: string;
  city?: string;
  check_in: AnalyticsDate;
  check_out: AnalyticsDate;
  nights: number;
  amount: number;
  currency: string;
  lead_time_days: number;
  status: string;
  /** When the booking entered `status`. */
  status_at: AnalyticsTime;
  /** The booking stream's revision: the highest one wins. */
  version: number;
}

export interface PaymentRow {
  payment_id: string;
  booking_id: string;
  room_id: string;
  landlord_id: string;
  tenant_id: string;
  amount: number;
  currency: string;
  status: string;
  created_at: AnalyticsTime;
  status_at: AnalyticsTime;
  version: number;
}

export interface SearchRow {
  search_id: string;
  searched_at: AnalyticsTime;
  venue_id?: string;
  city?: string;
  radius_m?: number;
  guests?: number;
  check_in?: AnalyticsDate | null;
  check_out?: AnalyticsDate | null;
  /** The other parameters as JSON (sort, price bounds, amenities; never free text). */
  parameters?: string;
  result_count: number;
  latency_ms: number;
}

export interface MessageRow {
  message_id: string;
  conversation_id: string;
  sent_at: AnalyticsTime;
  sender_role: string;
  room_id?: string;
  landlord_id?: string;
  tenant_id?: string;
}

export interface ReviewRow {
  review_id: string;
  room_id: string;
  landlord_id: string;
  tenant_id: string;
  rating: number;
  has_response: boolean;
  created_at: AnalyticsTime;
  version: number;
}

export interface AnalyticsRows {
  events: EventRow;
  bookings: BookingRow;
  payments: PaymentRow;
  searches: SearchRow;
  messages: MessageRow;
  reviews: ReviewRow;
}

/** Lets a retried batch with the same `insert_deduplication_token` be dropped (non-replicated tables keep none by default). */
const SETTINGS = 'SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000';
const TIME = "DateTime64(3, 'UTC')";

/** The DDL, in order; every statement is `IF NOT EXISTS`, so running it again changes nothing. */
export const ANALYTICS_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS events (
    event_id String,
    type LowCardinality(String),
    stream_id String,
    position UInt64,
    recorded_at ${TIME},
    actor_role LowCardinality(String),
    room_id String DEFAULT '',
    landlord_id String DEFAULT '',
    tenant_id String DEFAULT '',
    booking_id String DEFAULT '',
    venue_id String DEFAULT '',
    city LowCardinality(String) DEFAULT '',
    INDEX events_landlord landlord_id TYPE bloom_filter GRANULARITY 4,
    INDEX events_room room_id TYPE bloom_filter GRANULARITY 4
  ) ENGINE = ReplacingMergeTree
  PARTITION BY toYYYYMM(recorded_at)
  ORDER BY (toDate(recorded_at), type, event_id)
  ${SETTINGS}`,
  `CREATE TABLE IF NOT EXISTS bookings (
    booking_id String,
    room_id String,
    landlord_id String,
    tenant_id String,
    venue_id String DEFAULT '',
    city LowCardinality(String) DEFAULT '',
    check_in Date,
    check_out Date,
    nights UInt16,
    amount Int64,
    currency LowCardinality(String),
    lead_time_days Int32,
    status LowCardinality(String),
    status_at ${TIME},
    version UInt64,
    INDEX bookings_landlord landlord_id TYPE bloom_filter GRANULARITY 4,
    INDEX bookings_check_in check_in TYPE minmax GRANULARITY 4
  ) ENGINE = ReplacingMergeTree(version)
  ORDER BY (room_id, booking_id)
  ${SETTINGS}`,
  `CREATE TABLE IF NOT EXISTS payments (
    payment_id String,
    booking_id String,
    room_id String,
    landlord_id String,
    tenant_id String,
    amount Int64,
    currency LowCardinality(String),
    status LowCardinality(String),
    created_at ${TIME},
    status_at ${TIME},
    version UInt64,
    INDEX payments_landlord landlord_id TYPE bloom_filter GRANULARITY 4
  ) ENGINE = ReplacingMergeTree(version)
  PARTITION BY toYYYYMM(created_at)
  ORDER BY (toDate(created_at), payment_id)
  ${SETTINGS}`,
  `CREATE TABLE IF NOT EXISTS searches (
    search_id String,
    searched_at ${TIME},
    venue_id String DEFAULT '',
    city LowCardinality(String) DEFAULT '',
    radius_m UInt32 DEFAULT 0,
    guests UInt16 DEFAULT 0,
    check_in Nullable(Date),
    check_out Nullable(Date),
    parameters String DEFAULT '{}',
    result_count UInt32,
    latency_ms Float64
  ) ENGINE = ReplacingMergeTree
  PARTITION BY toYYYYMM(searched_at)
  ORDER BY (toDate(searched_at), search_id)
  ${SETTINGS}`,
  `CREATE TABLE IF NOT EXISTS messages (
    message_id String,
    conversation_id String,
    sent_at ${TIME},
    sender_role LowCardinality(String),
    room_id String DEFAULT '',
    landlord_id String DEFAULT '',
    tenant_id String DEFAULT '',
    INDEX messages_landlord landlord_id TYPE bloom_filter GRANULARITY 4
  ) ENGINE = ReplacingMergeTree
  PARTITION BY toYYYYMM(sent_at)
  ORDER BY (toDate(sent_at), message_id)
  ${SETTINGS}`,
  `CREATE TABLE IF NOT EXISTS reviews (
    review_id String,
    room_id String,
    landlord_id String,
    tenant_id String,
    rating UInt8,
    has_response Bool,
    created_at ${TIME},
    version UInt64,
    INDEX reviews_landlord landlord_id TYPE bloom_filter GRANULARITY 4
  ) ENGINE = ReplacingMergeTree(version)
  ORDER BY (room_id, review_id)
  ${SETTINGS}`,
];

/** Every table's columns, in DDL order: the column list of a `JSONCompactEachRow` insert. */
export const ANALYTICS_COLUMNS: { readonly [T in AnalyticsTable]: readonly (keyof AnalyticsRows[T] & string)[] } = {
  events: [
    'event_id',
    'type',
    'stream_id',
    'position',
    'recorded_at',
    'actor_role',
    'room_id',
    'landlord_id',
    'tenant_id',
    'booking_id',
    'venue_id',
    'city',
  ],
  bookings: [
    'booking_id',
    'room_id',
    'landlord_id',
    'tenant_id',
    'venue_id',
    'city',
    'check_in',
    'check_out',
    'nights',
    'amount',
    'currency',
    'lead_time_days',
    'status',
    'status_at',
    'version',
  ],
  payments: [
    'payment_id',
    'booking_id',
    'room_id',
    'landlord_id',
    'tenant_id',
    'amount',
    'currency',
    'status',
    'created_at',
    'status_at',
    'version',
  ],
  searches: [
    'search_id',
    'searched_at',
    'venue_id',
    'city',
    'radius_m',
    'guests',
    'check_in',
    'check_out',
    'parameters',
    'result_count',
    'latency_ms',
  ],
  messages: ['message_id', 'conversation_id', 'sent_at', 'sender_role', 'room_id', 'landlord_id', 'tenant_id'],
  reviews: ['review_id', 'room_id', 'landlord_id', 'tenant_id', 'rating', 'has_response', 'created_at', 'version'],
};

/** The columns that hold a person's id, per table: what erasure blanks. */
export const PERSON_COLUMNS: Readonly<Record<AnalyticsTable, readonly string[]>> = {
  events: ['landlord_id', 'tenant_id'],
  bookings: ['landlord_id', 'tenant_id'],
  payments: ['landlord_id', 'tenant_id'],
  searches: [],
  messages: ['landlord_id', 'tenant_id'],
  reviews: ['landlord_id', 'tenant_id'],
};

/** The name of a blue/green rebuild's copy of a warehouse table. */
export const copyOf = (table: AnalyticsTable): string => `${table}__rebuild`;

/** A table to write to or swap: one of the schema's, or a copy of one. */
export function assertTableName(name: string): void {
  if (
    !(ANALYTICS_TABLES as readonly string[]).some((table) => name === table || name === copyOf(table as AnalyticsTable))
  ) {
    throw new AnalyticsStoreError('invalid', `unknown analytics table ${JSON.stringify(name)}`);
  }
}

export function assertAnalyticsTable(table: string): asserts table is AnalyticsTable {
  if (!(ANALYTICS_TABLES as readonly string[]).includes(table)) {
    throw new AnalyticsStoreError('invalid', `unknown analytics table ${JSON.stringify(table)}`);
  }
}

/**
 * Rows as `JSONCompactEachRow` text, one array a line in `ANALYTICS_COLUMNS[table]` order: a third fewer bytes than
 * `JSONEachRow` and no names for the engine to match. A missing value goes as `null`, which the engine stores as
 * the column's default (as it does a missing key). Undefined when a row has a key the table has no column for: a
 * bug in the writer, which the caller sends as `JSONEachRow` for the engine to refuse (never dropped silently).
 */
export function jsonCompactEachRow<T extends AnalyticsTable>(
  table: T,
  rows: readonly AnalyticsRows[T][],
): string | undefined {
  const columns = ANALYTICS_COLUMNS[table] as readonly string[];
  const known = new Set(columns);
  const values: unknown[] = new Array(columns.length);
  const lines: string[] = new Array(rows.length + 1);
  let line = 0;
  for (const row of rows) {
    const record = row as unknown as Record<string, unknown>;
    for (const key in record) if (!known.has(key)) return undefined;
    for (let i = 0; i < columns.length; i++) {
      const value = record[columns[i]!];
      values[i] =
        value === undefined
          ? null
          : value instanceof Date
            ? dateTimeText(value)
            : typeof value === 'bigint'
              ? value.toString()
              : value;
    }
    lines[line++] = JSON.stringify(values);
  }
  lines[line] = '';
  return lines.join('\n');
}

/** Rows as `JSONEachRow` text: Dates as UTC `YYYY-MM-DD hh:mm:ss.sss`, bigints as digits. */
export function jsonEachRow(rows: readonly object[]): string {
  return rows.map((row) => `${JSON.stringify(withTextDates(row))}\n`).join('');
}

/** A row with its Date values as the UTC text both engines parse (JSON.stringify would write ISO with a `T`). */
export function withTextDates<T extends object>(row: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = value instanceof Date ? dateTimeText(value) : typeof value === 'bigint' ? value.toString() : value;
  }
  return out;
}
