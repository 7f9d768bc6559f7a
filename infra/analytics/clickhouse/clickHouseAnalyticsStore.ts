import {
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  ClickHouseError,
  createClient,
} from '@clickhouse/client';
import {
  ANALYTICS_STREAM_FORMATS,
  type AnalyticsParams,
  type AnalyticsStore,
  AnalyticsStoreError,
  type AnalyticsStreamFormat,
  checkDedupToken,
  clickhouseCodeOf,
  normalizeParams,
} from '../analyticsStore.js';
import {
  ANALYTICS_DDL,
  type AnalyticsRows,
  type AnalyticsTable,
  assertAnalyticsTable,
  assertTableName,
  withTextDates,
} from '../schema.js';

export interface ClickHouseAnalyticsStoreOptions {
  /** CLICKHOUSE_URL: `http(s)://user:password@host:8123/database` (the path, when given, names the database). */
  url: string;
  /** Overrides the URL's database (tests use a database of their own). */
  database?: string;
  requestTimeoutMs?: number;
  /**
   * The client's transport instead of HTTP (`createClient({ connection })`). Tests plug chDB's in-process
   * `chdb/connection` in here to run this adapter's own code (parameters, formats, errors) without a server.
   */
  connection?: ClickHouseClientConfigOptions['connection'];
}

/** The same JSON number conventions as the chDB adapter, so rows look alike whichever engine answered. */
const OUTPUT_SETTINGS = {
  output_format_json_quote_64bit_integers: 0,
  output_format_json_quote_decimals: 0,
} as const;

/**
 * The ClickHouse server adapter (`@clickhouse/client`, HTTP). Values go as the client's `query_params`, which
 * it sends as `param_<name>` for the server to bind to `{name:Type}`; rows go as `JSONEachRow`.
 */
export function createClickHouseAnalyticsStore(options: ClickHouseAnalyticsStoreOptions): AnalyticsStore {
  const client: ClickHouseClient = createClient({
    url: options.url,
    ...(options.database ? { database: options.database } : {}),
    ...(options.connection ? { connection: options.connection } : {}),
    request_timeout: options.requestTimeoutMs ?? 60_000,
    application: 'roomline',
  });
  let closed = false;
  const inFlight = new Set<Promise<unknown>>();

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    if (closed) throw new AnalyticsStoreError('closed', 'the analytics store is closed');
    const running = work();
    inFlight.add(running);
    try {
      return await running;
    } catch (error) {
      throw translate(error);
    } finally {
      inFlight.delete(running);
    }
  }

  return {
    async migrate() {
      for (const statement of ANALYTICS_DDL) await guarded(() => client.command({ query: statement }));
    },

    async insert<T extends AnalyticsTable>(
      table: T,
      rows: readonly AnalyticsRows[T][],
      opts?: { dedupToken?: string; into?: string },
    ) {
      assertAnalyticsTable(table);
      if (opts?.into !== undefined) assertTableName(opts.into);
      checkDedupToken(opts?.dedupToken);
      if (rows.length === 0) return;
      await guarded(() =>
        client.insert({
          table: opts?.into ?? table,
          values: rows.map((row) => withTextDates(row)),
          format: 'JSONEachRow',
          // An unknown column is a bug in the writer, not something to drop silently.
          clickhouse_settings: {
            input_format_skip_unknown_fields: 0,
            // Always sent, '' meaning none: a transport that keeps settings between statements (chDB's
            // in-process connection does) must not apply one batch's token to the next.
            insert_deduplication_token: opts?.dedupToken ?? '',
          },
        }),
      );
    },

    async query<T extends object>(sql: string, params?: AnalyticsParams): Promise<T[]> {
      const query_params = normalizeParams(params);
      return guarded(async () => {
        const result = await client.query({
          query: sql,
          query_params,
          format: 'JSONEachRow',
          clickhouse_settings: OUTPUT_SETTINGS,
        });
        return result.json<T>();
      });
    },

    queryStream(sql: string, params?: AnalyticsParams, opts?: { format?: AnalyticsStreamFormat }) {
      const format = opts?.format ?? 'CSVWithNames';
      if (!ANALYTICS_STREAM_FORMATS.includes(format)) {
        throw new AnalyticsStoreError('invalid', `unsupported stream format ${JSON.stringify(format)}`);
      }
      const query_params = normalizeParams(params);
      return {
        async *[Symbol.asyncIterator]() {
          const result = await guarded(() =>
            client.query({ query: sql, query_params, format, clickhouse_settings: OUTPUT_SETTINGS }),
          );
          const stream = result.stream();
          try {
            for await (const rows of stream as AsyncIterable<Array<{ text: string }>>) {
              yield rows.map((row) => `${row.text}\n`).join('');
            }
          } catch (error) {
            throw translate(error);
          } finally {
            result.close();
          }
        },
      };
    },

    async command(sql: string, params?: AnalyticsParams) {
      const query_params = normalizeParams(params);
      await guarded(() => client.command({ query: sql, query_params }));
    },

    async exchangeTables(pairs) {
      for (const [a, b] of pairs) {
        assertTableName(a);
        assertTableName(b);
      }
      // A server takes one statement a request: each pair at once, a moment between pairs.
      for (const [a, b] of pairs) await guarded(() => client.command({ query: `EXCHANGE TABLES ${a} AND ${b}` }));
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...inFlight]);
      await client.close();
    },
  };
}

function translate(error: unknown): Error {
  if (error instanceof AnalyticsStoreError) return error;
  // By shape too: a transport may bring its own copy of the client's error class.
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof ClickHouseError || (error instanceof Error && typeof code === 'string' && /^\d+$/.test(code))) {
    return new AnalyticsStoreError('query', error.message, Number(code) || undefined);
  }
  const message = error instanceof Error ? error.message : String(error);
  // The engine's own report, through a transport that does not wrap it in a ClickHouseError.
  const reported = clickhouseCodeOf(message);
  if (reported !== undefined) return new AnalyticsStoreError('query', message, reported);
  return new AnalyticsStoreError('engine', `ClickHouse server: ${message}`);
}
