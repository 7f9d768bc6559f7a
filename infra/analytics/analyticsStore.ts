import type { AnalyticsRows, AnalyticsTable } from './schema.js';

/**
 * The analytics store port: a ClickHouse-dialect warehouse written by the analytics projection and read by the
 * dashboards and CSV exports. Adapters: chDB (in-process engine, run in a child process so no call blocks the
 * event loop; the embedded default) and a ClickHouse server. One contract suite
 * (test/infra/analytics/analyticsStore.contract.ts) runs against each; the tables are those of `./schema.ts`,
 * the same DDL on both engines.
 *
 * Values reach SQL only as ClickHouse query parameters: a statement names them as `{name:Type}` and `params`
 * carries them, so the engine parses them as data, never as SQL. Only table names, which come from the schema's
 * own list, are ever part of the statement text an adapter builds.
 */
export interface AnalyticsStore {
  /** Creates the schema's tables if they are missing; harmless to run again. */
  migrate(): Promise<void>;
  /**
   * Appends rows. Tables are ReplacingMergeTree keyed by an event, booking or payment id (and a version), so the
   * same row inserted twice counts once under `FINAL`. `dedupToken` additionally makes the engine drop a whole
   * retried batch (same token, same table) before it is stored.
   */
  insert<T extends AnalyticsTable>(
    table: T,
    rows: readonly AnalyticsRows[T][],
    options?: {
      dedupToken?: string;
      /** The table the rows go to when not `table` itself: a copy of it (`copyOf`), same columns. */
      into?: string;
    },
  ): Promise<void>;
  /**
   * Runs a SELECT and returns its rows as JSON objects (`JSONEachRow`): 64-bit integers (counts, sums) come as
   * numbers, Decimals as numbers, dates and times as strings (`YYYY-MM-DD`, `YYYY-MM-DD hh:mm:ss.sss`, UTC).
   * Read the Replacing tables with `FINAL` to see one row per key.
   */
  query<T extends object>(sql: string, params?: AnalyticsParams): Promise<T[]>;
  /**
   * Streams a SELECT's result as text chunks in `format` (default `CSVWithNames`), for exports. The store runs
   * one statement at a time on chDB: consume the stream promptly, or break out of it (that cancels it).
   */
  queryStream(
    sql: string,
    params?: AnalyticsParams,
    options?: { format?: AnalyticsStreamFormat },
  ): AsyncIterable<string>;
  /** Runs a statement without a result (an `ALTER TABLE … UPDATE` of an erasure, an `OPTIMIZE`). */
  command(sql: string, params?: AnalyticsParams): Promise<void>;
  /**
   * Swaps the contents of each pair of tables (`EXCHANGE TABLES`), each pair at once. On chDB every pair in one
   * call, so no other statement of this store runs between two of them; on a server one statement a pair.
   */
  exchangeTables(pairs: ReadonlyArray<readonly [string, string]>): Promise<void>;
  /** Waits for running calls to finish, then releases the engine; later calls reject with `AnalyticsStoreError`. */
  close(): Promise<void>;
}

/**
 * A query parameter's value. A `Date` is sent as `YYYY-MM-DD hh:mm:ss.sss` (UTC), which a `DateTime64(3)` or
 * `DateTime` parameter accepts; 64-bit integers beyond 2^53 go as `bigint`.
 */
export type AnalyticsParamValue =
  | string
  | number
  | bigint
  | boolean
  | Date
  | null
  | readonly (string | number | bigint | boolean | null)[];

export type AnalyticsParams = Readonly<Record<string, AnalyticsParamValue>>;

export type AnalyticsStreamFormat = 'CSVWithNames' | 'CSV' | 'TabSeparatedWithNames' | 'JSONEachRow';

export const ANALYTICS_STREAM_FORMATS: readonly AnalyticsStreamFormat[] = [
  'CSVWithNames',
  'CSV',
  'TabSeparatedWithNames',
  'JSONEachRow',
];

/**
 * Every failure of an analytics store: `query` for an error the engine reported about a statement (bad SQL, an
 * unknown column, a parameter of the wrong type), `closed` after `close()`, `engine` when the engine itself failed
 * (the chDB process died, the server is unreachable), `overloaded` when too many calls are queued, `invalid` for a
 * call the port refuses before it reaches the engine (an unknown table, a bad token).
 */
export class AnalyticsStoreError extends Error {
  override readonly name = 'AnalyticsStoreError';
  constructor(
    readonly code: 'query' | 'closed' | 'engine' | 'overloaded' | 'invalid',
    message: string,
    /** The engine's numeric error code (ClickHouse `Code: 47` and the like), when there is one. */
    readonly clickhouseCode?: number,
  ) {
    super(message);
  }
}

/** Parameters as both engines take them: Dates turned into UTC text, everything else as given. */
export function normalizeParams(params: AnalyticsParams | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new AnalyticsStoreError('invalid', `query parameter name ${JSON.stringify(name)} is not an identifier`);
    }
    out[name] = value instanceof Date ? dateTimeText(value) : value;
  }
  return out;
}

/** `YYYY-MM-DD hh:mm:ss.sss` in UTC, the text a DateTime64(3) column or parameter parses. */
export function dateTimeText(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new AnalyticsStoreError('invalid', 'an invalid Date cannot be a parameter');
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

const DEDUP_TOKEN = /^[A-Za-z0-9:._@-]{1,256}$/;

/** Refuses a deduplication token that is not a short plain word (it is passed as a setting). */
export function checkDedupToken(token: string | undefined): void {
  if (token !== undefined && !DEDUP_TOKEN.test(token)) {
    throw new AnalyticsStoreError('invalid', 'dedupToken must be 1-256 characters of [A-Za-z0-9:._@-]');
  }
}

/** The ClickHouse error code in an engine message (`Code: 47. DB::Exception: …`), if it has one. */
export function clickhouseCodeOf(message: string): number | undefined {
  const match = /Code: (\d+)/.exec(message);
  return match ? Number(match[1]) : undefined;
}
