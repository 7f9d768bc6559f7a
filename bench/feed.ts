/**
 * bench:feed (issue 11): the WebSocket feed over two API processes, a feed publisher and a projector, against the Socket.IO + Redis
 * adapter peer in ../shared/peers/socketio-feed/, in one run.
 *
 * Latency: CONNS sockets spread over the two API processes (one person each, paired in conversations); a sender
 * POSTs RATE messages/s for SECONDS to `/api/conversations/{id}/messages` through the processes in turn; latency is
 * the recipient's `message:sent` frame time minus the POST's start, both measured in this one process (the first
 * 2 s are warm-up, as in the peer's client). Memory: IDLE sockets open and idle; server RSS growth per socket.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { userStreamId } from '../domain/identity/events.js';
import { accessTokenSigner } from '../infra/auth/tokens.js';
import { loadConfig } from '../infra/config/config.js';
import { prepareDatabase } from '../infra/db/prepare.js';
import { createLogger, createRuntime } from '../infra/runtime.js';
import {
  adminQuery,
  busyShareBetween,
  cpuMsBetween,
  machineCpu,
  percentile,
  processesCpuMs,
  publishReport,
  runBenchmark,
  serverUrl,
  sleep,
} from './support.js';

const CONNS = Number(process.env.CONNS ?? 1000);
const SECONDS = Number(process.env.SECONDS ?? 15);
const RATES = (process.env.RATES ?? '200,1000').split(',').map(Number);
const IDLE = Number(process.env.IDLE ?? 10_000);
const PEER_DIR = resolve(process.env.PEER_DIR ?? '../shared/peers/socketio-feed');
const DATABASE = 'roomline_bench_feed';
/** A folder: the Roomline processes write V8 CPU profiles there (stopped with SIGTERM, so they can). */
const CPU_PROF = process.env.BENCH_CPU_PROF;
const nodeArgs = [
  ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []),
  '--import',
  'tsx',
  'infra/main.ts',
];
const JWT_SECRET = randomBytes(32).toString('base64');
const DATA_ENCRYPTION_KEY = randomBytes(32).toString('base64');
const now = () => Number(process.hrtime.bigint()) / 1e6;

interface Proc {
  child: ChildProcess;
  port?: number;
  output: string;
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function start(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  cwd?: string,
): Promise<Proc> {
  const proc: Proc = { child: spawn(command, args, { env: { ...process.env, ...env }, cwd }), output: '' };
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in time:\n${proc.output}`)), 90_000);
    let started = false;
    const onData = (chunk: Buffer) => {
      proc.output += chunk.toString();
      if (proc.output.length > 200_000) proc.output = proc.output.slice(-100_000);
      // Once ready, the output is only kept (for errors): testing it on every chunk cost the bench CPU.
      if (!started && ready.test(proc.output)) {
        started = true;
        clearTimeout(timer);
        resolveStart(proc);
      }
    };
    proc.child.stdout!.on('data', onData);
    proc.child.stderr!.on('data', onData);
    proc.child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${proc.output}`)));
  });
}

/** Each process its own data directory (chDB's), removed when the bench ends: runs used to leave them in /tmp. */
const dataDirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'roomline-bench-feed-'));
  dataDirs.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function roomlineEnv(url: string, role: string, port = 0): Record<string, string> {
  return {
    DATABASE_URL: url,
    JWT_SECRET,
    DATA_ENCRYPTION_KEY,
    ROOMLINE_PROCESS: role,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '100000',
    MESSAGE_RATE_LIMIT_PER_MINUTE: '100000',
    // Three processes on a server other suites share: fewer connections each.
    PG_POOL_SIZE: process.env.BENCH_PG_POOL_SIZE ?? '8',
    QUEUE_PREFIX: `bench-feed-${randomUUID().slice(0, 8)}`,
    DATA_DIR: dataDir(),
  };
}

const letters = (n: number) => {
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
};
const numberOf = (word: string) => [...word].reduce((n, c) => n * 26 + (c.charCodeAt(0) - 97), 0);

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
function post(port: number, path: string, token: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((ok) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => ok({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', (error) => ok({ status: 0, text: error.message }));
    request.end(JSON.stringify(body));
  });
}

/** Sockets the bench itself is closing (their close is not news). */
const closing = new WeakSet<WebSocket>();

function openSockets(urls: string[], count: number, onFrame?: (i: number, text: string) => void): Promise<WebSocket[]> {
  let opened = 0;
  const sockets: WebSocket[] = [];
  return new Promise((ok, no) => {
    for (let i = 0; i < count; i++) {
      const ws = new WebSocket(urls[i]!, { perMessageDeflate: false });
      ws.on('open', () => {
        if (++opened === count) ok(sockets);
      });
      ws.on('error', no);
      if (onFrame) ws.on('message', (data) => onFrame(i, data.toString()));
      // A socket closed under the bench (the server's doing) explains frames not received: say so.
      ws.on('close', (code, reason) => {
        if (opened === count && !closing.has(ws)) {
          process.stderr.write(`socket ${i} closed by the server: ${code} ${reason.toString()}\n`);
        }
      });
      sockets.push(ws);
    }
  });
}

interface Row {
  system: string;
  rate: number;
  sent: number;
  received: number;
  lost: number;
  p50: string;
  p99: string;
  max: string;
  /** p50 of the POST's own answer (Roomline only). */
  postP50?: string;
  /** p50 / p99 of POST → published on Redis, and of published → frame (Roomline only). */
  stages?: string;
  /** CPU ms per message sent: both API processes / the feed publisher / the projector / its chDB engine / PostgreSQL / Redis / this bench (Roomline only). */
  cpuPerMessage?: string;
  /** How busy the whole machine was (all cores) from the first message to 3 s after the last (Roomline only). */
  machineBusy?: string;
}

/** CPU time so far of the Roomline processes, of this database's PostgreSQL backends and of Redis. */
function cpuSample(pids: { api: number[]; feed: number; projector: number }) {
  const of = (list: number[]) => {
    const all = processesCpuMs(['node']);
    return new Map(list.map((pid) => [pid, all.get(pid) ?? 0]));
  };
  return {
    api: of(pids.api),
    feed: of([pids.feed]),
    projector: of([pids.projector]),
    // The projector's chDB engine runs in a child process of its own, whose arguments name the bench's data dir.
    warehouse: processesCpuMs(['node'], ['roomline-bench-feed-']),
    postgres: processesCpuMs(['postgres'], [DATABASE]),
    redis: processesCpuMs(['redis-server']),
    // The bench itself: 1,000 sockets receiving and the POSTs sent, on the same two cores.
    bench: of([process.pid]),
    machine: machineCpu(),
  };
}

function stagesOf(toPublished: number[], toFrame: number[]): string {
  const of = (values: number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    return `${percentile(sorted, 0.5).toFixed(1)} / ${percentile(sorted, 0.99).toFixed(1)}`;
  };
  return `${of(toPublished)} → ${of(toFrame)}`;
}

async function roomlineLatency(
  ports: number[],
  sign: (sub: string, role: 'tenant' | 'landlord') => string,
  url: string,
  queuePrefix: string,
  pids: { api: number[]; feed: number; projector: number },
) {
  // People: the first half tenants, the second landlords; tenant i talks with landlord i + half.
  const half = CONNS / 2;
  const ids = Array.from({ length: CONNS }, () => randomUUID());
  const roleOf = (i: number) => (i < half ? 'tenant' : 'landlord') as 'tenant' | 'landlord';
  const config = loadConfig({ ...process.env, DATABASE_URL: url, JWT_SECRET, DATA_ENCRYPTION_KEY, LOG_LEVEL: 'warn' });
  const runtime = await createRuntime(config, createLogger(config));
  const at = new Date().toISOString();
  await Promise.all(
    ids.map((id, i) =>
      runtime.eventStore.append(
        userStreamId(id),
        [
          {
            eventId: randomUUID(),
            type: 'UserRegistered',
            schemaVersion: 2,
            data: {
              userId: id,
              role: roleOf(i),
              email: `bench-${i}@example.org`,
              phone: `+3935${String(1e7 + i)}`,
              fullName: `Bench ${letters(i)}`,
              universityName: null,
              businessName: null,
              profilePictureUrl: null,
              registeredAt: at,
            },
            metadata: {
              correlationId: randomUUID(),
              causationId: null,
              actorId: id,
              actorRole: roleOf(i),
              occurredAt: at,
              requestId: null,
            },
          },
        ],
        { expectedRevision: 'no_stream' },
      ),
    ),
  );
  await runtime.close();
  const tokens = ids.map((id, i) => sign(id, roleOf(i)));
  const conversation: string[] = new Array(half);
  for (let from = 0; from < half; from += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, half - from) }, async (_, j) => {
        const i = from + j;
        const answer = await post(ports[i % 2]!, '/api/conversations', tokens[i]!, { participantId: ids[i + half] });
        if (answer.status !== 201) throw new Error(`POST /api/conversations: ${answer.status} ${answer.text}`);
        conversation[i] = JSON.parse(answer.text).id;
      }),
    );
  }
  await caughtUp(url);
  const sentAt = new Map<number, number>();
  let warmEnd = Number.POSITIVE_INFINITY;
  let lat: number[] = [];
  let received = 0;
  // Which messages arrived, and whose they were: the frames not received are named at the end of each rate.
  const receivedSeqs = new Set<number>();
  const recipientOf = new Map<number, number>();
  const postStatus = new Map<number, number>();
  const indexOf = new Map<string, number>(ids.map((id, i) => [id, i]));
  // Where the time goes: the bench also listens on the feed's Redis channels, so each message's delay splits into
  // POST → published by the projector's feed publisher, and published → the recipient's frame.
  const publishedAt = new Map<number, number>();
  let toPublished: number[] = [];
  let toFrame: number[] = [];
  const tap = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  await tap.psubscribe(`${queuePrefix}:feed:user:*`);
  tap.on('pmessage', (_pattern, _channel, payload: string) => {
    const at = now();
    for (const frame of payload.split('\n').slice(1)) {
      if (!frame.startsWith('{"type":"message:sent"')) continue;
      const body = (JSON.parse(frame) as { data: { body?: string } }).data.body;
      if (!body?.startsWith('bench ')) continue;
      const seq = numberOf(body.slice(6));
      if (publishedAt.has(seq)) continue;
      publishedAt.set(seq, at);
      const start = sentAt.get(seq);
      if (start !== undefined && start >= warmEnd) toPublished.push(at - start);
    }
  });
  // A socket is open before the server has subscribed it and checked for events since its handshake: the rate
  // starts once every socket has said feed:live, so no socket's start-up is measured as delivery.
  let live = 0;
  // BENCH_TRACE=<file>: each measured message's send time and latency, to look for periodic stalls.
  const trace: Array<[number, number]> | undefined = process.env.BENCH_TRACE ? [] : undefined;
  process.on('exit', () => {
    if (trace) writeFileSync(process.env.BENCH_TRACE!, JSON.stringify(trace));
  });
  const sockets = await openSockets(
    ids.map((_, i) => `ws://127.0.0.1:${ports[i % 2]}/ws?token=${tokens[i]}`),
    CONNS,
    (socketIndex, text) => {
      if (text.startsWith('{"type":"feed:live"')) live++;
      if (!text.startsWith('{"type":"message:sent"')) return;
      const frame = JSON.parse(text) as { data: { body: string; recipientId: string; senderId: string } };
      if (!frame.data.body?.startsWith('bench ')) return;
      if (indexOf.get(frame.data.recipientId) !== socketIndex) return; // the sender's own copy
      const seq = numberOf(frame.data.body.slice(6));
      const start = sentAt.get(seq);
      if (start === undefined) return;
      if (receivedSeqs.has(seq)) {
        process.stderr.write(`message ${seq} received twice (socket ${socketIndex})\n`);
        return;
      }
      receivedSeqs.add(seq);
      received++;
      if (start >= warmEnd) {
        lat.push(now() - start);
        trace?.push([Math.round(start), Math.round((now() - start) * 10) / 10]);
        const published = publishedAt.get(seq);
        if (published !== undefined) toFrame.push(now() - published);
      }
    },
  );
  for (const deadline = now() + 60_000; live < CONNS; await sleep(50)) {
    if (now() > deadline) throw new Error(`only ${live} of ${CONNS} sockets said feed:live within a minute`);
  }
  const rows: Row[] = [];
  let seq = 0;
  for (const rate of RATES) {
    lat = [];
    toPublished = [];
    toFrame = [];
    received = 0;
    const firstSeq = seq;
    let sent = 0;
    let failed = 0;
    const answered: number[] = [];
    warmEnd = now() + 2000;
    const end = now() + SECONDS * 1000 + 2000;
    const cpuBefore = cpuSample(pids);
    let k = 0;
    // Open loop, as the peer's client: each 50 ms tick sends its share whatever the answers before it, so a slow
    // server meets the rate asked for (and its backlog shows in the latency) instead of being sent fewer messages.
    const inFlight: Promise<unknown>[] = [];
    while (now() < end) {
      const tick = now();
      const batch = inFlight;
      for (let j = 0; j < rate / 20; j++) {
        const pair = Math.floor(Math.random() * half);
        const fromTenant = Math.random() < 0.5;
        const sender = fromTenant ? pair : pair + half;
        const mine = seq++;
        sent++;
        sentAt.set(mine, now());
        recipientOf.set(mine, fromTenant ? pair + half : pair);
        batch.push(
          post(ports[k++ % 2]!, `/api/conversations/${conversation[pair]}/messages`, tokens[sender]!, {
            body: `bench ${letters(mine)}`,
          }).then((answer) => {
            postStatus.set(mine, answer.status);
            if (answer.status !== 201) failed++;
            else if (sentAt.get(mine)! >= warmEnd) answered.push(now() - sentAt.get(mine)!);
          }),
        );
      }
      const wait = 50 - (now() - tick);
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(inFlight);
    await sleep(3000);
    const cpuAfter = cpuSample(pids);
    const missing: string[] = [];
    for (let m = firstSeq; m < seq; m++) {
      if (receivedSeqs.has(m)) continue;
      const to = recipientOf.get(m)!;
      missing.push(
        `#${m} to socket ${to} (state ${sockets[to]!.readyState}): POST ${postStatus.get(m)}, ` +
          `${publishedAt.has(m) ? 'published on Redis' : 'never published on Redis'}`,
      );
    }
    if (missing.length > 0) {
      process.stderr.write(`rate ${rate}: ${missing.length} not received:\n  ${missing.slice(0, 30).join('\n  ')}\n`);
    }
    lat.sort((x, y) => x - y);
    rows.push({
      system: `Roomline (2 API + feed + projector)${failed ? `, ${failed} POSTs failed` : ''}`,
      rate,
      sent,
      received,
      lost: sent - received,
      p50: percentile(lat, 0.5).toFixed(1),
      p99: percentile(lat, 0.99).toFixed(1),
      max: (lat.at(-1) ?? Number.NaN).toFixed(1),
      postP50: percentile(
        answered.sort((x, y) => x - y),
        0.5,
      ).toFixed(1),
      stages: stagesOf(toPublished, toFrame),
      cpuPerMessage: (['api', 'feed', 'projector', 'warehouse', 'postgres', 'redis', 'bench'] as const)
        .map((part) => (cpuMsBetween(cpuBefore[part], cpuAfter[part]) / sent).toFixed(2))
        .join(' / '),
      machineBusy: `${Math.round(100 * busyShareBetween(cpuBefore.machine, cpuAfter.machine))}%`,
    });
    process.stderr.write(`roomline rate ${rate}: ${JSON.stringify(rows.at(-1))}\n`);
  }
  for (const ws of sockets) {
    closing.add(ws);
    ws.terminate();
  }
  tap.disconnect();
  return rows;
}

/**
 * Waits (at most 3 min) until every projection has reached the newest event: the seed's projection work is over
 * before anything is measured (in the PostgreSQL store, a long projection transaction holds back what every
 * subscriber, the feed's too, may read).
 */
async function caughtUp(url: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const deadline = Date.now() + 180_000;
    for (;;) {
      const { rows } = await client.query<{ behind: string }>(
        `SELECT count(*) AS behind FROM projection_checkpoints
          WHERE position < (SELECT coalesce(max(position), 0) FROM event_store.events)`,
      );
      if (rows[0]?.behind === '0' || Date.now() > deadline) return;
      await sleep(500);
    }
  } finally {
    await client.end();
  }
}

async function roomlineIdle(procs: Proc[], sign: (sub: string, role: 'tenant' | 'landlord') => string) {
  await sleep(2000);
  const before = procs.map((p) => rssKb(p.child.pid!));
  const sockets: WebSocket[] = [];
  for (let chunk = 0; chunk < IDLE; chunk += 1000) {
    const size = Math.min(1000, IDLE - chunk);
    sockets.push(
      ...(await openSockets(
        Array.from(
          { length: size },
          (_, i) => `ws://127.0.0.1:${procs[(chunk + i) % 2]!.port}/ws?token=${sign(randomUUID(), 'tenant')}`,
        ),
        size,
      )),
    );
  }
  await sleep(5000);
  const after = procs.map((p) => rssKb(p.child.pid!));
  for (const ws of sockets) {
    closing.add(ws);
    ws.terminate();
  }
  const grownKb = after.reduce((sum, kb, i) => sum + kb - before[i]!, 0);
  return { sockets: IDLE, grownKb, perConnKb: grownKb / IDLE, before, after };
}

function peerReady(): string {
  if (existsSync(join(PEER_DIR, 'node_modules', 'socket.io'))) return PEER_DIR;
  const copy = resolve('.data/bench-peers/socketio-feed');
  if (!existsSync(join(copy, 'node_modules', 'socket.io'))) {
    mkdirSync(copy, { recursive: true });
    cpSync(PEER_DIR, copy, { recursive: true });
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: copy, stdio: 'inherit' });
  }
  return copy;
}

async function peer(dir: string) {
  const servers = await Promise.all(
    [4101, 4102].map((port) =>
      start(process.execPath, ['server.cjs'], { PORT: String(port) }, /socket\.io peer on/, dir),
    ),
  );
  const rows: Row[] = [];
  for (const rate of RATES) {
    const out = execFileSync(process.execPath, ['client.cjs'], {
      cwd: dir,
      env: { ...process.env, CONNS: String(CONNS), RATE: String(rate), SECONDS: String(SECONDS) },
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const result = JSON.parse(out.trim().split('\n').at(-1)!);
    rows.push({
      system: result.peer,
      rate,
      sent: result.sent,
      received: result.received,
      lost: result.lost,
      p50: result.p50,
      p99: result.p99,
      max: result.max,
    });
    process.stderr.write(`peer rate ${rate}: ${JSON.stringify(rows.at(-1))}\n`);
  }
  await sleep(2000);
  const before = servers.map((s) => rssKb(s.child.pid!));
  const idle = spawn(process.execPath, ['idle.cjs'], { cwd: dir, env: { ...process.env, CONNS: String(IDLE) } });
  let idleOut = '';
  idle.stdout.on('data', (chunk) => {
    idleOut += chunk;
  });
  const deadline = Date.now() + 35_000;
  while (!idleOut.includes('all connected') && Date.now() < deadline) await sleep(200);
  await sleep(5000);
  const after = servers.map((s) => rssKb(s.child.pid!));
  idle.kill('SIGKILL');
  for (const s of servers) s.child.kill('SIGKILL');
  const grownKb = after.reduce((sum, kb, i) => sum + kb - before[i]!, 0);
  return {
    rows,
    idle: { sockets: IDLE, grownKb, perConnKb: grownKb / IDLE, connected: idleOut.includes('all connected') },
  };
}

runBenchmark(async () => {
  const url = serverUrl(DATABASE);
  await adminQuery(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${DATABASE}`);
  await adminQuery(`ALTER DATABASE ${DATABASE} SET search_path = public`).catch(() => undefined);
  await prepareDatabase(url);
  const sign = accessTokenSigner({
    secret: JWT_SECRET,
    issuer: 'roomline',
    audience: 'roomline-api',
    ttlSeconds: 3600,
  });
  const signAs = (sub: string, role: 'tenant' | 'landlord') =>
    sign({ sub, role, email: `${sub.slice(0, 8)}@example.org` });
  const procs: Proc[] = [];
  const cleanup = () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill(CPU_PROF ? 'SIGTERM' : 'SIGKILL');
  };
  process.on('exit', cleanup);
  const load = os.loadavg()[0]!.toFixed(2);
  const [portA, portB] = [4201, 4202];
  // One QUEUE_PREFIX for the three: the projector publishes on the channels the API processes listen to.
  const queuePrefix = roomlineEnv(url, 'api').QUEUE_PREFIX!;
  // The feed publisher in a process of its own (PROJECTIONS=feed), started first so it holds the feed's lease; the
  // other projector runs every other projection (its feed runner waits on standby).
  procs.push(
    await start(
      process.execPath,
      nodeArgs,
      { ...roomlineEnv(url, 'projector'), QUEUE_PREFIX: queuePrefix, PROJECTIONS: 'feed' },
      /"projection":"feed","msg":"projection active"/,
    ),
  );
  procs.push(
    await start(
      process.execPath,
      nodeArgs,
      { ...roomlineEnv(url, 'projector'), QUEUE_PREFIX: queuePrefix },
      /Roomline is running/,
    ),
  );
  for (const port of [portA, portB]) {
    const p = await start(
      process.execPath,
      nodeArgs,
      { ...roomlineEnv(url, 'api', port), QUEUE_PREFIX: queuePrefix },
      /Roomline is listening/,
    );
    p.port = port;
    procs.push(p);
  }
  const roomline = await roomlineLatency([portA, portB], signAs, url, queuePrefix, {
    api: procs.slice(2).map((p) => p.child.pid!),
    feed: procs[0]!.child.pid!,
    projector: procs[1]!.child.pid!,
  });
  const roomlineMemory = await roomlineIdle(procs.slice(2), signAs);
  cleanup();
  const peerResult = await peer(peerReady());
  await adminQuery(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);

  const goal = (row: Row) => {
    if (!row.system.startsWith('Roomline')) return '—';
    const limit = row.rate <= 200 ? 25 : 50;
    return Number(row.p99) < limit && row.lost === 0
      ? `PASS (p99 < ${limit} ms, 0 lost)`
      : `FAIL (p99 < ${limit} ms, 0 lost)`;
  };
  const lines = [
    `# Feed benchmark (${new Date().toISOString()})`,
    '',
    'Command: `npm run bench:feed` (bench/feed.ts). Roomline: two API processes, the feed publisher alone in a projector',
    '(PROJECTIONS=feed) and a projector for every other projection (infra/main.ts, ROOMLINE_PROCESS=api|projector),',
    `${CONNS} WebSocket connections spread over the two API processes, one person each, paired in`,
    'conversations; `POST /api/conversations/{id}/messages` through the processes in turn; latency from the POST to the',
    "recipient's `message:sent` frame, measured in the one bench process (first 2 s warm-up). Peer: Socket.IO +",
    'Redis adapter (../shared/peers/socketio-feed: server.cjs twice, client.cjs), same CONNS/RATE/SECONDS, stores nothing.',
    `Idle: ${IDLE} connections over the two servers; server RSS growth (VmRSS, both processes) per connection.`,
    '',
    `Machine: nproc ${os.cpus().length} (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, load average ${load} at the start.`,
    '',
    '| System | msg/s | sent | received | lost | p50 ms | p99 ms | max ms | POST answer p50 ms | p50 / p99 ms: POST → published → frame | CPU ms/message: API / feed / projector / its chDB / PostgreSQL / Redis / bench | machine busy | Goal |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...[...roomline, ...peerResult.rows].map(
      (r) =>
        `| ${r.system} | ${r.rate} | ${r.sent} | ${r.received} | ${r.lost} | ${r.p50} | ${r.p99} | ${r.max} | ${r.postP50 ?? '—'} | ${r.stages ?? '—'} | ${r.cpuPerMessage ?? '—'} | ${r.machineBusy ?? '—'} | ${goal(r)} |`,
    ),
    '',
    // IDLE=0 measures no memory: no figure per connection to divide out of nothing.
    ...(IDLE > 0
      ? [
          '| System | idle connections | server RSS growth | per connection | Goal |',
          '| --- | --- | --- | --- | --- |',
          `| Roomline (2 API) | ${roomlineMemory.sockets} | ${(roomlineMemory.grownKb / 1024).toFixed(1)} MB | ${roomlineMemory.perConnKb.toFixed(1)} KB | ${roomlineMemory.perConnKb < peerResult.idle.perConnKb ? 'PASS' : 'FAIL'} (below the peer) |`,
          `| socket.io peer (2 servers) | ${peerResult.idle.sockets}${peerResult.idle.connected ? '' : ' (not all connected)'} | ${(peerResult.idle.grownKb / 1024).toFixed(1)} MB | ${peerResult.idle.perConnKb.toFixed(1)} KB | — |`,
        ]
      : ['Idle connections: not measured (IDLE=0).']),
    '',
  ];
  await publishReport('feed', lines.join('\n'));
});
