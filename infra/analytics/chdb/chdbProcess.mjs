// The chDB engine's own process, forked by chdbAnalyticsStore.ts. chDB's calls are synchronous or lean on the
// libuv pool, and loading its addon in a worker thread crashes the whole process when the thread exits, so the
// engine lives here: one Session on one data directory, one statement at a time (chDB's parameter binding is not
// isolated between concurrent statements), requests and replies over IPC. Plain JavaScript so that it starts
// without a TypeScript loader.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Session } = require('chdb');

const dataDir = process.argv[2];
const maxThreads = Number(process.argv[3] ?? '1');
const STREAM_IDLE_MS = Number(process.argv[4] ?? '30000');
if (!dataDir || !process.send) {
  process.stderr.write('chdbProcess: expects a data directory argument and an IPC channel\n');
  process.exit(2);
}

let session;
try {
  session = new Session(dataDir, {
    connectionArgs: [
      '--output_format_json_quote_64bit_integers=0',
      '--output_format_json_quote_decimals=0',
      `--max_threads=${Number.isInteger(maxThreads) && maxThreads > 0 ? maxThreads : 1}`,
    ],
  });
  session.query('SELECT 1');
} catch (error) {
  process.send({ type: 'fatal', error: describe(error) });
  process.exit(1);
}

/** The tail of the one-at-a-time chain of engine calls. */
let tail = Promise.resolve();
/** Open streams by request id: the chain waits on `done` until the stream is drained or cancelled. */
const streams = new Map();

function describe(error) {
  const message = error && error.message != null ? String(error.message) : String(error);
  const code = /Code: (\d+)/.exec(message);
  return { message, clickhouseCode: code ? Number(code[1]) : undefined, chdbCode: error?.code };
}

function reply(id, result) {
  process.send({ id, ok: true, result });
}

function fail(id, error) {
  process.send({ id, ok: false, error: describe(error) });
}

function enqueue(task) {
  const run = tail.then(task);
  tail = run.then(
    () => {},
    () => {},
  );
  return run;
}

async function runQuery(message) {
  const result = await session.queryBindAsync(message.sql, message.params ?? {}, { format: 'JSONEachRow' });
  const text = result.text();
  const rows = [];
  for (const line of text.split('\n')) if (line !== '') rows.push(JSON.parse(line));
  return rows;
}

async function runCommand(message) {
  await session.queryBindAsync(message.sql, message.params ?? {}, { format: 'CSV' });
  return null;
}

async function runInsert(message) {
  // An unknown column is a bug in the writer, not something to drop silently. A Replacing table's duplicates are
  // collapsed by merges and read away by FINAL anyway: doing it for every inserted block too only costs.
  const settings = { input_format_skip_unknown_fields: 0, optimize_on_insert: 0 };
  if (message.dedupToken) settings.insert_deduplication_token = message.dedupToken;
  await session.insert({
    table: message.table,
    ...(message.columns ? { columns: message.columns } : {}),
    values:
      typeof message.payload === 'string'
        ? Buffer.from(message.payload, 'utf8')
        : Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength),
    format: message.columns ? 'JSONCompactEachRow' : 'JSONEachRow',
    settings,
  });
  return null;
}

function openStream(message) {
  return new Promise((resolve) => {
    // Runs inside the chain: the chain goes on only when the stream settles (`resolve`).
    const stream = session.queryStreamBind(message.sql, message.params ?? {}, { format: message.format });
    const iterator = stream[Symbol.asyncIterator]();
    const open = {
      iterator,
      stream,
      timer: undefined,
      finish() {
        clearTimeout(open.timer);
        streams.delete(message.id);
        resolve(null);
      },
      // A reader that went away without cancelling must not hold the engine (and every call behind it) for ever.
      touch() {
        clearTimeout(open.timer);
        open.timer = setTimeout(() => {
          try {
            stream.cancel();
          } catch {
            // already closed
          }
          open.finish();
        }, STREAM_IDLE_MS);
      },
    };
    streams.set(message.id, open);
    open.touch();
    reply(message.id, null);
  });
}

async function nextChunk(message) {
  const open = streams.get(message.streamId);
  if (!open) return fail(message.id, new Error('no such stream (finished, cancelled, or idle too long)'));
  clearTimeout(open.timer);
  try {
    const step = await open.iterator.next();
    if (step.done) {
      open.finish();
      return reply(message.id, { done: true });
    }
    open.touch();
    reply(message.id, { done: false, text: step.value.text() });
  } catch (error) {
    open.finish();
    fail(message.id, error);
  }
}

function cancelStream(message) {
  const open = streams.get(message.streamId);
  if (open) {
    try {
      open.stream.cancel();
    } catch {
      // already closed
    }
    open.finish();
  }
  reply(message.id, null);
}

function handle(message) {
  switch (message.op) {
    case 'query':
      return enqueue(() => runQuery(message)).then(
        (rows) => reply(message.id, rows),
        (e) => fail(message.id, e),
      );
    case 'command':
      return enqueue(() => runCommand(message)).then(
        (r) => reply(message.id, r),
        (e) => fail(message.id, e),
      );
    case 'insert':
      return enqueue(() => runInsert(message)).then(
        (r) => reply(message.id, r),
        (e) => fail(message.id, e),
      );
    case 'streamOpen':
      return enqueue(() => openStream(message)).catch((e) => fail(message.id, e));
    case 'streamNext':
      return nextChunk(message);
    case 'streamCancel':
      return cancelStream(message);
    case 'close':
      return enqueue(async () => {
        session.close();
        reply(message.id, null);
        process.disconnect();
      });
    default:
      return fail(message.id, new Error(`unknown operation ${String(message.op)}`));
  }
}

process.on('message', handle);
// The parent went away without closing: release the engine and leave.
process.on('disconnect', () => {
  tail.then(() => {
    try {
      session.close();
    } catch {
      // closing twice is harmless
    }
    process.exit(0);
  });
});
process.send({ type: 'ready' });
