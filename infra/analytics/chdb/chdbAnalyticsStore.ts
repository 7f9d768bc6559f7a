import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism, setPriority } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ANALYTICS_STREAM_FORMATS,
  type AnalyticsParams,
  type AnalyticsStore,
  AnalyticsStoreError,
  type AnalyticsStreamFormat,
  checkDedupToken,
  normalizeParams,
} from '../analyticsStore.js';
import {
  ANALYTICS_COLUMNS,
  ANALYTICS_DDL,
  type AnalyticsRows,
  type AnalyticsTable,
  assertAnalyticsTable,
  assertTableName,
  jsonCompactEachRow,
  jsonEachRow,
} from '../schema.js';

export interface ChdbAnalyticsStoreOptions {
  /** The engine's data directory (DATA_DIR/analytics in the app). One process at a time may open it. */
  path: string;
  /** Calls waiting for the engine before a new one is refused with `overloaded`. */
  maxQueued?: number;
  /** Threads one query may use (`max_threads`); default half the CPUs, so the engine never takes them all. */
  maxThreads?: number;
  /** An open `queryStream` nobody reads for this long is cancelled, so it cannot hold the engine (default 30 s). */
  streamIdleMs?: number;
  /** Nice value of the engine's process (0-19; default 10): the API's process is served first. */
  niceness?: number;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

interface Reply {
  id?: number;
  type?: 'ready' | 'fatal';
  ok?: boolean;
  result?: unknown;
  error?: { message: string; clickhouseCode?: number };
}

const CHILD = fileURLToPath(new URL('./chdbProcess.mjs', import.meta.url));

/**
 * The engine's environment: the app's, without libfaketime. The engine never reads its own clock (every time
 * reaches it as a value or a parameter), and under libfaketime (the test suite's `faketime +400d` run) its threads
 * made it some 30 times slower: opening and migrating took 13 s instead of 0.4 s.
 */
function engineEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!name.startsWith('FAKETIME')) out[name] = value;
  if (env.LD_PRELOAD) {
    const kept = env.LD_PRELOAD.split(/[:\s]+/).filter((lib) => lib !== '' && !/libfaketime/.test(lib));
    if (kept.length > 0) out.LD_PRELOAD = kept.join(':');
    else delete out.LD_PRELOAD;
  }
  return out;
}

/**
 * The chDB adapter. chDB runs in a child process this store forks and owns (`chdbProcess.mjs`), never on the
 * event loop: each call is a message, the child runs one statement at a time, and at most `maxQueued` calls wait.
 * Values travel as chDB's server-side query parameters (`queryBindAsync`, `queryStreamBind`), rows as
 * `JSONCompactEachRow` bytes with the table's column list, which the engine parses. If the child dies, the calls in
 * flight fail with `engine` and the next call starts a new one on the same data directory.
 */
export function createChdbAnalyticsStore(options: ChdbAnalyticsStoreOptions): AnalyticsStore {
  const path = resolve(options.path);
  const maxQueued = options.maxQueued ?? 1000;
  const maxThreads = options.maxThreads ?? Math.max(1, Math.floor(availableParallelism() / 2));
  const niceness = options.niceness ?? 10;
  const streamIdleMs = options.streamIdleMs ?? 30_000;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let child: Promise<ChildProcess> | undefined;
  let closed = false;

  function start(): Promise<ChildProcess> {
    mkdirSync(path, { recursive: true });
    return new Promise((ready, failed) => {
      const proc = fork(CHILD, [path, String(maxThreads), String(streamIdleMs)], {
        execArgv: [],
        env: engineEnv(process.env),
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      let started = false;
      if (proc.pid !== undefined && niceness > 0) {
        try {
          setPriority(proc.pid, niceness);
        } catch {
          // Not allowed here: the engine runs at normal priority.
        }
      }
      proc.on('message', (message: Reply) => {
        if (message.type === 'ready') {
          started = true;
          ready(proc);
          return;
        }
        if (message.type === 'fatal') {
          failed(new AnalyticsStoreError('engine', `chDB did not open ${path}: ${message.error?.message}`));
          return;
        }
        const call = message.id === undefined ? undefined : pending.get(message.id);
        if (!call || message.id === undefined) return;
        pending.delete(message.id);
        if (message.ok) call.resolve(message.result);
        else {
          const text = message.error?.message ?? 'unknown chDB error';
          call.reject(new AnalyticsStoreError('query', text, message.error?.clickhouseCode));
        }
      });
      proc.on('error', (error) => {
        if (!started) failed(new AnalyticsStoreError('engine', `chDB process failed to start: ${error.message}`));
      });
      proc.on('exit', (code, signal) => {
        child = undefined;
        const reason = `chDB process exited (${signal ?? `code ${code}`})`;
        if (!started) failed(new AnalyticsStoreError('engine', reason));
        for (const [id, call] of pending) {
          pending.delete(id);
          call.reject(new AnalyticsStoreError('engine', `${reason} before answering`));
        }
      });
    });
  }

  function idle(): void {
    child
      ?.then((proc) => {
        if (outstanding > 0) return;
        proc.unref();
        proc.channel?.unref();
      })
      .catch(() => {});
  }

  /** Calls made and not yet answered, counted from the moment they are made (even before the process is up). */
  let outstanding = 0;

  async function call<T>(message: Record<string, unknown>, id = nextId++): Promise<T> {
    if (closed) throw new AnalyticsStoreError('closed', 'the analytics store is closed');
    if (outstanding >= maxQueued) {
      throw new AnalyticsStoreError('overloaded', `${outstanding} analytics calls are already waiting for chDB`);
    }
    outstanding++;
    try {
      if (!child) {
        child = start();
        child.catch(() => {
          child = undefined;
        });
      }
      const proc = await child;
      // An idle engine does not keep the app's process alive (a script that forgets close() still ends).
      proc.ref();
      proc.channel?.ref();
      return await new Promise<T>((resolvePromise, reject) => {
        pending.set(id, { resolve: resolvePromise as (r: unknown) => void, reject });
        proc.send({ ...message, id }, (error) => {
          if (!error) return;
          pending.delete(id);
          reject(new AnalyticsStoreError('engine', `could not reach the chDB process: ${error.message}`));
        });
      });
    } finally {
      outstanding--;
      if (outstanding === 0) idle();
    }
  }

  return {
    async migrate() {
      for (const statement of ANALYTICS_DDL) await call({ op: 'command', sql: statement, params: {} });
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
      // Bytes, not a string: the IPC channel copies a buffer as it is, and the engine reads UTF-8 anyway.
      const compact = jsonCompactEachRow(table, rows);
      const payload = Buffer.from(compact ?? jsonEachRow(rows), 'utf8');
      const columns = compact === undefined ? undefined : ANALYTICS_COLUMNS[table];
      await call({ op: 'insert', table: opts?.into ?? table, columns, payload, dedupToken: opts?.dedupToken });
    },

    async exchangeTables(pairs) {
      for (const [a, b] of pairs) {
        assertTableName(a);
        assertTableName(b);
      }
      if (pairs.length === 0) return;
      // One call, several statements: the engine runs them in turn, and nothing else queued here runs between them.
      await call({
        op: 'command',
        sql: pairs.map(([a, b]) => `EXCHANGE TABLES ${a} AND ${b}`).join('; '),
        params: {},
      });
    },

    async query<T extends object>(sql: string, params?: AnalyticsParams): Promise<T[]> {
      return call<T[]>({ op: 'query', sql, params: normalizeParams(params) });
    },

    queryStream(sql: string, params?: AnalyticsParams, opts?: { format?: AnalyticsStreamFormat }) {
      const format = opts?.format ?? 'CSVWithNames';
      if (!ANALYTICS_STREAM_FORMATS.includes(format)) {
        throw new AnalyticsStoreError('invalid', `unsupported stream format ${JSON.stringify(format)}`);
      }
      const normalized = normalizeParams(params);
      return {
        async *[Symbol.asyncIterator]() {
          const streamId = nextId++;
          const withNames = format === 'CSVWithNames' || format === 'TabSeparatedWithNames';
          let header: string | undefined;
          await call({ op: 'streamOpen', sql, params: normalized, format }, streamId);
          let finished = false;
          try {
            while (true) {
              const step = await call<{ done: boolean; text?: string }>({ op: 'streamNext', streamId });
              if (step.done) {
                finished = true;
                return;
              }
              // chDB writes a *WithNames format's header at the top of every chunk: only the first one keeps it.
              let text = step.text ?? '';
              if (withNames && text !== '') {
                if (header === undefined) header = text.slice(0, text.indexOf('\n') + 1) || text;
                else if (text.startsWith(header)) text = text.slice(header.length);
              }
              if (text) yield text;
            }
          } catch (error) {
            finished = true;
            throw error;
          } finally {
            if (!finished && !closed) await call({ op: 'streamCancel', streamId }).catch(() => {});
          }
        },
      };
    },

    async command(sql: string, params?: AnalyticsParams) {
      await call({ op: 'command', sql, params: normalizeParams(params) });
    },

    async close() {
      if (closed) return;
      const running = child;
      if (!running) {
        closed = true;
        return;
      }
      const proc = await running.catch(() => undefined);
      if (!proc) {
        closed = true;
        return;
      }
      const exited = new Promise<void>((done) => {
        if (proc.exitCode !== null || proc.signalCode !== null) done();
        else proc.once('exit', () => done());
      });
      // The close request queues behind every call already sent, so those finish first.
      await call({ op: 'close' }).catch(() => {});
      closed = true;
      // The answered call left the idle engine unref'd: held again, or a process with nothing else to wait for
      // would end here and close() would never return.
      proc.ref();
      await exited;
    },
  };
}
