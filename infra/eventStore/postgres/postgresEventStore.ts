import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  type AppendOptions,
  type AppendResult,
  DuplicateEventId,
  type EventFilter,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionBatch,
  WrongExpectedVersion,
} from '../eventStore.js';
import { canonicalJson } from '../hashChain.js';
import { APPEND_LOCK_CLASS, EVENT_STORE_SCHEMA_SQL } from './schema.js';

const CHANNEL = 'roomline_events';
const PAGE_SIZE = 1000;
const MAX_BATCH_APPENDS = 256;
const MAX_BATCH_EVENTS = 65535;
/** Whole-stream reads asked for at once share one query (see `readStream`): at most this many streams each. */
const MAX_BATCH_READS = 128;
/** Batched read queries running at once; reads asked for meanwhile wait and share the next one. */
const MAX_READS_IN_FLIGHT = 4;

interface PendingRead {
  streamId: string;
  resolve(rows: EventRow[]): void;
  reject(error: unknown): void;
}

interface PendingAppend {
  streamId: string;
  events: readonly NewEvent[];
  expectedRevision: ExpectedRevision;
  expected: bigint;
  started: number;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

interface BatchRow {
  item: number;
  status: number;
  actual: string | null;
  next_revision: string | null;
  last_position: string | null;
}

export interface PostgresEventStoreOptions {
  /** Pool used for appends and reads; the store does not end it unless `ownsPool`. */
  pool: pg.Pool;
  /** Connection string for the dedicated LISTEN connection (default: the pool's options). */
  connectionString?: string;
  /** Safety net when a NOTIFY is missed (default 1000 ms). */
  pollIntervalMs?: number;
  ownsPool?: boolean;
  /** Append transactions running at once; further appends wait and share the next one (default 2). */
  maxConcurrentBatches?: number;
  /** Called with the duration of every append (metrics). */
  onAppend?: (durationMs: number, events: number) => void;
}

export async function ensureEventStoreSchema(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    // Several processes may start at once: one creates, the others wait.
    await client.query('SELECT pg_advisory_lock(7246001)');
    await client.query(EVENT_STORE_SCHEMA_SQL);
  } finally {
    await client.query('SELECT pg_advisory_unlock(7246001)').catch(() => undefined);
    client.release();
  }
}

interface EventRow {
  position: string;
  stream_id: string;
  revision: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  recorded_at: number;
  hash: string;
  previous_hash: string;
}

/** recorded_at travels as epoch milliseconds: cheaper to receive and convert than a timestamp text. */
const COLUMNS = `position, stream_id, revision, event_id, type, schema_version, data, metadata,
  (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at, hash, previous_hash`;

/**
 * The visibility bound (docs/decisions/0001, addendum 2): the id of the oldest append still open, or the
 * snapshot's xmax when none is. Every append holds the append lock from before its transaction id exists,
 * so the locks tell appends from other transactions, and a slow read-model transaction elsewhere in the
 * cluster no longer holds readers back. One statement: its snapshot is taken before `pg_locks` is read, so
 * an append with a lower id that is not among the open ones had ended when the locks were read, and any
 * later statement sees it. An append holding the lock whose id is not in the lock table yet (a moment
 * while it is assigned) makes the bound fall back to the snapshot's xmin, which is always safe.
 */
const BOUND_SQL = `WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
  open_appends AS MATERIALIZED (
    SELECT own.transactionid AS xid
      FROM pg_locks a
      LEFT JOIN pg_locks own
        ON own.pid = a.pid AND own.locktype = 'transactionid' AND own.mode = 'ExclusiveLock' AND own.granted
     WHERE a.locktype = 'advisory' AND a.classid = ${APPEND_LOCK_CLASS} AND a.objid = 0 AND a.objsubid = 2
       AND a.granted AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
SELECT (CASE WHEN EXISTS (SELECT 1 FROM open_appends WHERE xid IS NULL) THEN pg_snapshot_xmin(s)
             ELSE coalesce((SELECT min(x) FROM pg_snapshot_xip(s) AS x WHERE x::xid IN (SELECT xid FROM open_appends)),
                           pg_snapshot_xmax(s))
        END)::text AS bound
  FROM snap`;

function toRecorded(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    revision: BigInt(row.revision),
    position: BigInt(row.position),
    recordedAt: new Date(row.recorded_at).toISOString(),
    hash: row.hash,
    previousHash: row.previous_hash,
  };
}

function expectedCode(expected: ExpectedRevision): bigint {
  if (expected === 'no_stream') return -1n;
  if (expected === 'any') return -2n;
  if (expected === 'stream_exists') return -3n;
  if (expected < 0n) throw new RangeError(`expected revision must be >= 0, got ${expected}`);
  return expected;
}

function filterSql(filter: EventFilter | undefined, params: unknown[]): string {
  const clauses: string[] = [];
  if (filter?.eventTypes) {
    params.push(filter.eventTypes);
    clauses.push(`type = ANY($${params.length}::text[])`);
  }
  if (filter?.streamPrefixes) {
    const ors = filter.streamPrefixes.map((prefix) => {
      params.push(`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      return `stream_id LIKE $${params.length}`;
    });
    clauses.push(ors.length > 0 ? `(${ors.join(' OR ')})` : 'false');
  }
  return clauses.map((c) => ` AND ${c}`).join('');
}

const statementNames = new Map<string, string>();
/**
 * A query as a named (prepared) statement: each connection parses and plans its text once, not on every call. The
 * reads a subscription repeats on every wake-up were parsed and planned each time (about half a millisecond of the
 * server's CPU per read in bench:feed). The name is the text's hash: the texts differ only by filter, a bounded set.
 */
function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text);
  if (!name) {
    name = `es_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (statementNames.size < 1000) statementNames.set(text, name);
  }
  return { name, text, values };
}

/** What `filterSql` selects, decided in memory (a shared live read hands each subscription its own events). */
function matches(filter: EventFilter | undefined, event: RecordedEvent): boolean {
  if (filter?.eventTypes && !filter.eventTypes.includes(event.type)) return false;
  if (filter?.streamPrefixes && !filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix))) {
    return false;
  }
  return true;
}

type PgBatch = SubscriptionBatch & { full: boolean; pendingAbove: boolean };

interface LiveRead {
  after: bigint;
  filter: EventFilter | undefined;
  limit: number;
  resolve(batch: PgBatch): void;
  reject(error: unknown): void;
}

/**
 * Change signal for subscribers. Waiters pass the version they saw before their last read, so a
 * change that happened during the read wakes them at once instead of being lost.
 */
class Wakeup {
  version = 0;
  private waiters: Array<() => void> = [];
  wait(seenVersion: number, timeoutMs: number): Promise<void> {
    if (seenVersion !== this.version) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        const index = waiters.indexOf(done);
        if (index >= 0) waiters.splice(index, 1);
        resolve();
      }
      waiters.push(done);
    });
  }
  fire(): void {
    this.version++;
    const waiters = this.waiters;
    this.waiters = [];
    // Each waiter removes itself from this same array when called: iterate over a copy, or every other one is
    // skipped and sleeps until its timeout (the fallback poll, a second).
    for (const waiter of [...waiters]) waiter();
  }
}

export class PostgresEventStore implements EventStore {
  private readonly pool: pg.Pool;
  private readonly pollIntervalMs: number;
  private readonly wakeup = new Wakeup();
  private listener: pg.Client | undefined;
  private listenerStarting: Promise<void> | undefined;
  private readonly subscriptions = new Set<PgSubscription>();
  private notifyInFlight = false;
  private readonly queue: PendingAppend[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private notifyAgain = false;
  private closed = false;
  private readonly reads: PendingRead[] = [];
  private readsInFlight = 0;
  private readFlushScheduled = false;
  private boundWaiters: Array<{ resolve(bound: bigint): void; reject(error: unknown): void }> = [];
  private liveReaders: LiveRead[] = [];
  /** Sent with every NOTIFY, so this store's own notifications are told from other processes' ones. */
  private readonly instanceId = randomUUID();

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.pool = options.pool;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.maxInFlight = options.maxConcurrentBatches ?? 2;
  }

  /**
   * Appends join the next batch: at most `maxInFlight` batches run at once, and whatever arrives
   * meanwhile goes into the following one, so under load many appends share one commit.
   */
  append(streamId: string, events: readonly NewEvent[], { expectedRevision }: AppendOptions): Promise<AppendResult> {
    if (events.length === 0) return Promise.reject(new RangeError('append needs at least one event'));
    if (events.length > MAX_BATCH_EVENTS) {
      return Promise.reject(new RangeError(`one append takes at most ${MAX_BATCH_EVENTS} events`));
    }
    const expected = expectedCode(expectedRevision);
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ streamId, events, expectedRevision, expected, resolve, reject, started: performance.now() });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch: PendingAppend[] = [];
      let events = 0;
      while (this.queue.length > 0 && batch.length < MAX_BATCH_APPENDS) {
        const next = this.queue[0]!;
        if (batch.length > 0 && events + next.events.length > MAX_BATCH_EVENTS) break;
        this.queue.shift();
        batch.push(next);
        events += next.events.length;
      }
      this.inFlight++;
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  private async runBatch(batch: PendingAppend[]): Promise<void> {
    const streams: string[] = [];
    const expected: string[] = [];
    const counts: number[] = [];
    const ids: string[] = [];
    const types: string[] = [];
    const versions: number[] = [];
    const data: string[] = [];
    const metadata: string[] = [];
    for (const append of batch) {
      streams.push(append.streamId);
      expected.push(append.expected.toString());
      counts.push(append.events.length);
      for (const event of append.events) {
        ids.push(event.eventId.toLowerCase());
        types.push(event.type);
        versions.push(event.schemaVersion);
        data.push(canonicalJson(event.data));
        metadata.push(canonicalJson(event.metadata));
      }
    }
    let rows: BatchRow[];
    try {
      const result = await this.pool.query<BatchRow>({
        name: 'event_store_append_batch',
        text: `SELECT item, status, actual, next_revision, last_position
                 FROM event_store.append_batch($1, $2::bigint[], $3, $4::uuid[], $5, $6, $7, $8)`,
        values: [streams, expected, counts, ids, types, versions, data, metadata],
      });
      rows = result.rows;
    } catch (error) {
      if (batch.length > 1) {
        // One append spoiled the shared transaction (an id clash raced in from elsewhere): run each alone.
        await Promise.all(batch.map((append) => this.runBatch([append])));
        return;
      }
      batch[0]!.reject(this.translate(error, batch[0]!));
      return;
    }
    let appended = false;
    for (const row of rows) {
      const append = batch[row.item - 1]!;
      if (row.status === 0) {
        appended = true;
        this.options.onAppend?.(performance.now() - append.started, append.events.length);
        append.resolve({ nextExpectedRevision: BigInt(row.next_revision!), position: BigInt(row.last_position!) });
      } else if (row.status === 1) {
        const actual = BigInt(row.actual!);
        append.reject(
          new WrongExpectedVersion(append.streamId, append.expectedRevision, actual < 0n ? 'no_stream' : actual),
        );
      } else {
        append.reject(new DuplicateEventId(append.streamId, append.events[0]!.eventId));
      }
    }
    if (appended) this.announce();
  }

  private translate(error: unknown, append: PendingAppend): unknown {
    const pgError = error as { code?: string; constraint?: string };
    if (pgError.code === '23505' && pgError.constraint === 'events_event_id') {
      return new DuplicateEventId(append.streamId, append.events[0]!.eventId);
    }
    return error;
  }

  /** Wakes local subscribers at once and others through one coalesced NOTIFY (outside the append's commit). */
  private announce(): void {
    this.wakeup.fire();
    if (this.notifyInFlight) {
      this.notifyAgain = true;
      return;
    }
    this.notifyInFlight = true;
    const send = (): void => {
      this.notifyAgain = false;
      this.pool
        .query({ name: 'event_store_notify', text: `SELECT pg_notify('${CHANNEL}', $1)`, values: [this.instanceId] })
        .catch(() => undefined)
        .finally(() => {
          if (this.notifyAgain && !this.closed) send();
          else this.notifyInFlight = false;
        });
    };
    send();
  }

  async *readStream(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === 'backwards';
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    let cursor: bigint | undefined = options.from;
    let first = true;
    if (!backwards && cursor === undefined && options.maxCount === undefined) {
      // A whole stream from its start, what commands read: its first page comes from a query shared with the other
      // streams asked for at the same moment (a command reads its streams at once; concurrent requests too).
      const rows = await this.readFirstPage(streamId);
      const page = rows.length > PAGE_SIZE ? rows.slice(0, PAGE_SIZE) : rows;
      for (const row of page) yield toRecorded(row);
      if (rows.length <= PAGE_SIZE) return;
      cursor = BigInt(page[page.length - 1]!.revision);
      first = false;
    }
    while (remaining > 0) {
      const limit = Math.min(PAGE_SIZE, remaining);
      const comparison = backwards ? (first ? '<=' : '<') : first ? '>=' : '>';
      // One row more than the page tells whether another page exists, without a second round trip.
      const params: unknown[] = [streamId, limit + 1];
      let where = 'stream_id = $1';
      if (cursor !== undefined) {
        params.push(cursor.toString());
        where += ` AND revision ${comparison} $3`;
      }
      const { rows } = await this.pool.query<EventRow>(
        prepared(
          `SELECT ${COLUMNS} FROM event_store.events WHERE ${where} ORDER BY revision ${backwards ? 'DESC' : 'ASC'} LIMIT $2`,
          params,
        ),
      );
      const page = rows.length > limit ? rows.slice(0, limit) : rows;
      for (const row of page) yield toRecorded(row);
      if (rows.length <= limit) return;
      remaining -= page.length;
      cursor = BigInt(page[page.length - 1]!.revision);
      first = false;
    }
  }

  /** The first PAGE_SIZE + 1 events of a stream, read in a batch with the others asked for meanwhile. */
  private readFirstPage(streamId: string): Promise<EventRow[]> {
    return new Promise<EventRow[]>((resolve, reject) => {
      this.reads.push({ streamId, resolve, reject });
      if (!this.readFlushScheduled) {
        this.readFlushScheduled = true;
        // After the current microtasks: the reads a caller starts together (Promise.all) join one batch.
        queueMicrotask(() => {
          this.readFlushScheduled = false;
          this.flushReads();
        });
      }
    });
  }

  private flushReads(): void {
    while (this.readsInFlight < MAX_READS_IN_FLIGHT && this.reads.length > 0) {
      const batch = this.reads.splice(0, MAX_BATCH_READS);
      this.readsInFlight++;
      void this.runReadBatch(batch).finally(() => {
        this.readsInFlight--;
        this.flushReads();
      });
    }
  }

  private async runReadBatch(batch: PendingRead[]): Promise<void> {
    const streamIds = [...new Set(batch.map((read) => read.streamId))];
    try {
      const { rows } = await this.pool.query<EventRow>({
        name: 'event_store_read_streams',
        text: `SELECT e.* FROM unnest($1::text[]) AS s(id)
               CROSS JOIN LATERAL (SELECT ${COLUMNS} FROM event_store.events
                                    WHERE stream_id = s.id ORDER BY revision LIMIT $2) AS e
               ORDER BY e.stream_id, e.revision`,
        values: [streamIds, PAGE_SIZE + 1],
      });
      const byStream = new Map<string, EventRow[]>();
      for (const row of rows) {
        const list = byStream.get(row.stream_id);
        if (list) list.push(row);
        else byStream.set(row.stream_id, [row]);
      }
      for (const read of batch) read.resolve(byStream.get(read.streamId) ?? []);
    } catch (error) {
      for (const read of batch) read.reject(error);
    }
  }

  /**
   * The lowest position no reader may pass yet (see BOUND_SQL). Asked for by several readers at the same
   * moment (the subscriptions woken by one append), it is computed once for all of them; each reads its page
   * after it was computed, which is what makes it safe.
   */
  private visibleBound(): Promise<bigint> {
    return new Promise<bigint>((resolve, reject) => {
      this.boundWaiters.push({ resolve, reject });
      if (this.boundWaiters.length > 1) return;
      queueMicrotask(() => {
        const waiters = this.boundWaiters;
        this.boundWaiters = [];
        this.pool.query<{ bound: string }>({ name: 'event_store_visible_bound', text: BOUND_SQL }).then(
          ({ rows }) => {
            const bound = BigInt(rows[0]!.bound) << 16n;
            for (const waiter of waiters) waiter.resolve(bound);
          },
          (error: unknown) => {
            for (const waiter of waiters) waiter.reject(error);
          },
        );
      });
    });
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    await this.awaitVisibility();
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    let after = options.fromPosition ?? -1n;
    while (remaining > 0) {
      const limit = Math.min(PAGE_SIZE, remaining);
      const { rows } = await this.readPage(after, await this.visibleBound(), options.filter, limit);
      for (const row of rows) yield toRecorded(row);
      if (rows.length < limit) return;
      remaining -= rows.length;
      after = BigInt(rows[rows.length - 1]!.position);
    }
  }

  /**
   * Read-your-writes for `readAll`: events committed before the call can sit above the visibility
   * bound while an older transaction (anywhere in the cluster) is still open. Wait, briefly and
   * boundedly, until the bound has passed the newest event seen now, so a read after an append
   * includes it; paging stays below the bound, so nothing is ever skipped.
   */
  private async awaitVisibility(maxWaitMs = 2000): Promise<void> {
    const deadline = Date.now() + maxWaitMs;
    const newest = await this.headPosition();
    for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
      if (newest < (await this.visibleBound()) || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Events after `after` below the visibility bound `bound`. */
  private readPage(after: bigint, bound: bigint, filter: EventFilter | undefined, limit: number) {
    const params: unknown[] = [after.toString(), limit, bound.toString()];
    return this.pool.query<EventRow>(
      prepared(
        `SELECT ${COLUMNS} FROM event_store.events
          WHERE position > $1 AND position < $3${filterSql(filter, params)}
          ORDER BY position LIMIT $2`,
        params,
      ),
    );
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    const subscription = new PgSubscription(this, options);
    this.subscriptions.add(subscription);
    void this.startListener();
    return subscription;
  }

  /**
   * @internal used by PgSubscription. The visibility bound first, then one statement (one snapshot) for the page, the
   * highest position below the bound (a safe checkpoint once the page is short) and the newest committed position
   * (events above the bound wait behind an older append that is still open).
   */
  async nextBatch(after: bigint, filter: EventFilter | undefined, limit: number, live = false): Promise<PgBatch> {
    if (live) return this.liveBatch(after, filter, limit);
    const bound = await this.visibleBound();
    const params: unknown[] = [after.toString(), limit, bound.toString()];
    const { rows } = await this.pool.query<EventRow & { safe: string | null; newest: string | null }>(
      prepared(
        `(SELECT ${COLUMNS}, NULL::bigint AS safe, NULL::bigint AS newest
          FROM event_store.events
         WHERE position > $1 AND position < $3${filterSql(filter, params)}
         ORDER BY position LIMIT $2)
       UNION ALL
       SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
              (SELECT max(position) FROM event_store.events WHERE position < $3),
              (SELECT max(position) FROM event_store.events)`,
        params,
      ),
    );
    const bounds = rows.find((row) => row.position === null);
    const safe = bounds?.safe ? BigInt(bounds.safe) : 0n;
    const newest = bounds?.newest ? BigInt(bounds.newest) : 0n;
    const events = rows.filter((row) => row.position !== null).map(toRecorded);
    const lastDelivered = events.length > 0 ? events[events.length - 1]!.position : after;
    if (events.length === limit) return { events, checkpoint: lastDelivered, full: true, pendingAbove: true };
    // The page was short: every matching event below the bound has been read.
    return {
      events,
      checkpoint: safe > lastDelivered ? safe : lastDelivered,
      full: false,
      pendingAbove: newest > safe,
    };
  }

  /**
   * Subscriptions that were caught up and are woken by the same append (a projector runs a dozen or more) share one
   * read: one bound, one unfiltered page from the lowest of their checkpoints, each given what its own filter takes
   * (the same predicate as `filterSql`). A subscription still catching up reads alone, so a long replay never slows
   * the live ones.
   */
  private liveBatch(after: bigint, filter: EventFilter | undefined, limit: number): Promise<PgBatch> {
    return new Promise<PgBatch>((resolve, reject) => {
      this.liveReaders.push({ after, filter, limit, resolve, reject });
      if (this.liveReaders.length > 1) return;
      // After this turn of the event loop: the subscriptions one wake-up resumes all join, whatever their depth.
      setImmediate(() => {
        const readers = this.liveReaders;
        this.liveReaders = [];
        this.readLive(readers).catch((error: unknown) => {
          for (const reader of readers) reader.reject(error);
        });
      });
    });
  }

  private async readLive(readers: LiveRead[]): Promise<void> {
    if (readers.length === 1) {
      const [only] = readers;
      only!.resolve(await this.nextBatch(only!.after, only!.filter, only!.limit));
      return;
    }
    // biome-ignore lint/complexity/useMathMinMax: positions are bigints, which Math.min does not take
    const from = readers.reduce((low, reader) => (reader.after < low ? reader.after : low), readers[0]!.after);
    const page = await this.nextBatch(from, undefined, PAGE_SIZE);
    const pageEnd = page.full ? page.events[page.events.length - 1]!.position : page.checkpoint;
    for (const reader of readers) {
      const events: RecordedEvent[] = [];
      let cut: bigint | undefined;
      for (const event of page.events) {
        if (event.position <= reader.after || !matches(reader.filter, event)) continue;
        if (events.length === reader.limit) {
          cut = events[events.length - 1]!.position;
          break;
        }
        events.push(event);
      }
      if (cut !== undefined) {
        reader.resolve({ events, checkpoint: cut, full: true, pendingAbove: true });
      } else {
        // biome-ignore lint/complexity/useMathMinMax: positions are bigints, which Math.max does not take
        const checkpoint = pageEnd > reader.after ? pageEnd : reader.after;
        reader.resolve({ events, checkpoint, full: page.full, pendingAbove: page.pendingAbove });
      }
    }
  }

  /** @internal */
  changeVersion(): number {
    return this.wakeup.version;
  }

  /** @internal */
  waitForChange(seenVersion: number, timeoutMs: number): Promise<void> {
    return this.wakeup.wait(seenVersion, Math.min(timeoutMs, this.pollIntervalMs));
  }

  /** @internal */
  wakeAll(): void {
    this.wakeup.fire();
  }

  /** @internal */
  forget(subscription: PgSubscription): void {
    this.subscriptions.delete(subscription);
  }

  private startListener(): Promise<void> {
    if (this.listener || this.closed) return Promise.resolve();
    this.listenerStarting ??= (async () => {
      const client = new pg.Client(
        this.options.connectionString
          ? { connectionString: this.options.connectionString }
          : (this.pool.options as pg.ClientConfig),
      );
      client.on('notification', (message) => {
        // Our own appends woke our subscribers already (see `announce`): their echo would only make them all read
        // again for nothing.
        if (message.payload !== this.instanceId) this.wakeup.fire();
      });
      client.on('error', () => {
        // Lost the LISTEN connection: subscribers fall back to polling until it is back.
        this.listener = undefined;
        client.end().catch(() => undefined);
        if (!this.closed) setTimeout(() => void this.startListener(), this.pollIntervalMs).unref();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
        this.listener = client;
        this.wakeup.fire();
      } catch {
        client.end().catch(() => undefined);
        if (!this.closed) setTimeout(() => void this.startListener(), this.pollIntervalMs).unref();
      } finally {
        this.listenerStarting = undefined;
      }
    })();
    return this.listenerStarting;
  }

  /** recorded_at is the database's clock_timestamp(). */
  async clockNow(): Promise<number> {
    const { rows } = await this.pool.query<{ now: number }>(
      'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now',
    );
    return rows[0]!.now;
  }

  async headPosition(): Promise<bigint> {
    const { rows } = await this.pool.query<{ head: string | null }>(
      'SELECT max(position) AS head FROM event_store.events',
    );
    return rows[0]?.head ? BigInt(rows[0].head) : 0n;
  }

  /**
   * Just below the visibility bound: every position under the bound belongs to an append that has ended, and any
   * append still to commit takes positions at or above it (BOUND_SQL).
   */
  async settledPosition(): Promise<bigint> {
    return (await this.visibleBound()) - 1n;
  }

  /** Number of events after `position` up to the head, counted up to `cap` (projection lag). */
  async countAfter(position: bigint, filter?: EventFilter, cap = 1_000_000): Promise<number> {
    const params: unknown[] = [position.toString(), cap];
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM event_store.events WHERE position > $1${filterSql(filter, params)} LIMIT $2) t`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    this.wakeup.fire();
    await this.listenerStarting;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    if (this.options.ownsPool) await this.pool.end();
  }
}

class PgSubscription implements Subscription {
  private closed = false;
  private checkpoint: bigint;
  private readonly maxBatch: number;

  constructor(
    private readonly store: PostgresEventStore,
    private readonly options: SubscribeOptions,
  ) {
    this.checkpoint = options.fromPosition ?? -1n;
    this.maxBatch = options.maxBatchSize ?? 500;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SubscriptionBatch> {
    let backoffMs = 1;
    // Caught up at the last read: the next one joins the other caught-up subscriptions' shared read.
    let live = false;
    try {
      while (!this.closed) {
        const seen = this.store.changeVersion();
        const batch = await this.store.nextBatch(this.checkpoint, this.options.filter, this.maxBatch, live);
        live = !batch.full;
        if (this.closed) return;
        const advanced = batch.checkpoint > this.checkpoint;
        if (batch.events.length > 0 || advanced) {
          this.checkpoint = batch.checkpoint;
          yield { events: batch.events, checkpoint: batch.checkpoint };
        }
        if (batch.full) continue;
        if (batch.pendingAbove) {
          // Committed events wait behind a still-open transaction: look again soon.
          await this.store.waitForChange(this.store.changeVersion(), backoffMs);
          backoffMs = Math.min(backoffMs * 2, 50);
          continue;
        }
        backoffMs = 1;
        await this.store.waitForChange(seen, Number.POSITIVE_INFINITY);
      }
    } finally {
      this.closed = true;
      this.store.forget(this);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.store.wakeAll();
  }
}

export function createPostgresEventStore(options: PostgresEventStoreOptions): PostgresEventStore {
  return new PostgresEventStore(options);
}
