import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AnalyticsStore } from './analyticsStore.js';
import type { SearchRow } from './schema.js';

/** What a search route records: its parameters (never free text), its result count and latency. */
export type SearchLogEntry = Omit<SearchRow, 'search_id'>;

/** Records room searches into the warehouse's `searches` table, in batches. */
export interface SearchLog {
  /** Buffers the entry and returns at once: it never waits for, nor fails on, the warehouse. */
  record(entry: SearchLogEntry): void;
  /** Writes what is buffered now (one insert). */
  flush(): Promise<void>;
  /** Flushes what is left and stops the timer; later entries are dropped. */
  close(): Promise<void>;
}

export interface SearchLogOptions {
  store: AnalyticsStore;
  logger: Logger;
  /** A buffer this full is flushed at once (default 1,000 rows). */
  maxRows?: number;
  /** Otherwise what is buffered is flushed this often (default 1 s). */
  flushMs?: number;
  /** Rows kept while a flush is in flight or the warehouse is slow; beyond, new entries are dropped (default 50,000). */
  maxBuffered?: number;
}

/**
 * The buffered search log: at most one insert per `flushMs` or per `maxRows` rows, whatever the request rate. A
 * failed flush is logged and its rows dropped (search analytics are a sample worth losing, never a reason to slow
 * or fail a search); a full buffer drops new entries the same way.
 */
export function createSearchLog(options: SearchLogOptions): SearchLog {
  const maxRows = options.maxRows ?? 1000;
  const flushMs = options.flushMs ?? 1000;
  const maxBuffered = options.maxBuffered ?? 50_000;
  let buffer: SearchRow[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let closed = false;
  let dropped = 0;
  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();

  function flush(): Promise<void> {
    if (buffer.length === 0) return flushing;
    const rows = buffer;
    buffer = [];
    flushing = flushing.then(async () => {
      try {
        await options.store.insert('searches', rows);
      } catch (error) {
        options.logger.warn(
          { err: (error as Error).message, rows: rows.length },
          'search log: a flush to the warehouse failed; its rows are dropped',
        );
      }
    });
    return flushing;
  }

  return {
    record(entry) {
      if (closed) return;
      if (buffer.length >= maxBuffered) {
        if (dropped++ % 10_000 === 0) options.logger.warn({ dropped }, 'search log: buffer full; entries dropped');
        return;
      }
      buffer.push({ search_id: randomUUID(), ...entry });
      if (buffer.length >= maxRows) void flush();
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await flush();
    },
  };
}
