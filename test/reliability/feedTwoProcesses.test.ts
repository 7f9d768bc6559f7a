import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFeed, type FeedClient, type ReceivedFrame } from '../http/feedClient.js';
import { TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ServerProcess, startServer } from '../support/serverProcess.js';

/**
 * Issue 11: the feed across processes. Two real API processes (A and B) and a projector process (which holds the
 * feed publisher's lease), one PostgreSQL database and one Redis: a frame for a socket on A caused by a request to B
 * crosses through Redis; a client that reconnects with `since` (to either process) gets exactly what it missed, in
 * order, once, before and without duplicating the live frames that arrive meanwhile.
 */

const env = { RATE_LIMIT_PER_MINUTE: '100000', MESSAGE_RATE_LIMIT_PER_MINUTE: '100000', SUBSCRIPTION_POLL_MS: '500' };
let db: TestDatabase;
let a: ServerProcess;
let b: ServerProcess;
let projector: ChildProcessWithoutNullStreams;
let projectorOutput = '';
const clients: FeedClient[] = [];

function startProjector(url: string): Promise<void> {
  projector = spawn(process.execPath, ['--import', 'tsx', 'infra/main.ts'], {
    env: {
      ...process.env,
      ...env,
      DATABASE_URL: url,
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_ENCRYPTION_KEY: TEST_DATA_ENCRYPTION_KEY,
      ROOMLINE_PROCESS: 'projector',
      LOG_LEVEL: 'info',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'roomline-feed-projector-')),
    },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`projector not running in time:\n${projectorOutput}`)), 60_000);
    const onData = (chunk: Buffer) => {
      projectorOutput += chunk.toString();
      if (projectorOutput.includes('Roomline is running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    projector.stdout.on('data', onData);
    projector.stderr.on('data', onData);
    projector.once('exit', () => reject(new Error(`projector exited:\n${projectorOutput}`)));
  });
}

beforeAll(async () => {
  db = await createTestDatabase(2);
  [a, b] = await Promise.all([
    startServer(db.url, { ...env, ROOMLINE_PROCESS: 'api' }),
    startServer(db.url, { ...env, ROOMLINE_PROCESS: 'api' }),
  ]);
  await startProjector(db.url);
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.ws.terminate();
  for (const child of [a?.child, b?.child, projector]) if (child && child.exitCode === null) child.kill('SIGKILL');
  await db?.drop();
});

async function feed(server: ServerProcess, token: string, since?: string): Promise<FeedClient> {
  const client = await connectFeed(server.base, { token, ...(since !== undefined ? { since } : {}) });
  clients.push(client);
  return client;
}

let phone = Math.floor(1e8 + Math.random() * 8e8);
async function register(server: ServerProcess, role: 'tenant' | 'landlord') {
  const response = await fetch(`${server.base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `two-${randomUUID().slice(0, 8)}@example.org`,
      password: 'correct horse battery staple',
      phone: `+3934${phone++}`,
      role,
      fullName: role === 'tenant' ? 'Giulia Rossi' : 'Marco Bianchi',
    }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  const body = (await response.json()) as { user: { id: string }; accessToken: string };
  return { id: body.user.id, token: body.accessToken };
}

async function call(server: ServerProcess, token: string, path: string, body: unknown) {
  const response = await fetch(`${server.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as { id: string; position: string };
}

const messagesOf = (frames: ReceivedFrame[]) => frames.filter((frame) => frame.type === 'message:sent');
const idsOf = (frames: ReceivedFrame[]) => messagesOf(frames).map((frame) => frame.data.messageId as string);
const ascending = (frames: ReceivedFrame[]) =>
  frames.every((frame, i) => i === 0 || BigInt(frame.position!) > BigInt(frames[i - 1]!.position!));

describe('the feed over two API processes and a projector', () => {
  let tenant: { id: string; token: string };
  let landlord: { id: string; token: string };
  let conversationId: string;
  let lastSeen: string;

  it('delivers to a socket on A a message posted through B', async () => {
    tenant = await register(a, 'tenant');
    landlord = await register(b, 'landlord');
    conversationId = (await call(b, landlord.token, '/api/conversations', { participantId: tenant.id })).id;
    const onA = await feed(a, tenant.token);
    const sent = await call(b, landlord.token, `/api/conversations/${conversationId}/messages`, {
      body: 'hello from B',
    });
    await onA.until((frames) => idsOf(frames).includes(sent.id), 15_000, 'the message posted through B');
    const [frame] = messagesOf(onA.frames);
    expect(frame).toMatchObject({ position: sent.position, data: { messageId: sent.id, body: 'hello from B' } });
    lastSeen = frame!.position!;
    onA.close();
    await onA.closed;
  }, 60_000);

  it('replays exactly the missed frames, in order, once, on A and on B', async () => {
    const missed: string[] = [];
    for (let i = 0; i < 5; i++) {
      missed.push(
        (await call(b, landlord.token, `/api/conversations/${conversationId}/messages`, { body: `missed ${i}` })).id,
      );
    }
    for (const server of [a, b]) {
      const client = await feed(server, tenant.token, lastSeen);
      await client.until((frames) => idsOf(frames).length >= missed.length, 15_000, 'the missed messages');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(idsOf(client.frames)).toEqual(missed);
      expect(ascending(messagesOf(client.frames))).toBe(true);
      expect(messagesOf(client.frames).map((frame) => frame.data.body)).toEqual(
        [0, 1, 2, 3, 4].map((i) => `missed ${i}`),
      );
      client.close();
      await client.closed;
    }
  }, 60_000);

  it('sends no duplicate and misses nothing when live frames arrive during the replay', async () => {
    const before = (await call(b, landlord.token, `/api/conversations/${conversationId}/messages`, { body: 'before' }))
      .id;
    // Messages posted while the client reconnects: some land in the replay, some arrive live, some both ways.
    const posting = (async () => {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const server = i % 2 === 0 ? a : b;
        ids.push(
          (await call(server, landlord.token, `/api/conversations/${conversationId}/messages`, { body: `live ${i}` }))
            .id,
        );
      }
      return ids;
    })();
    const client = await feed(a, tenant.token, lastSeen);
    const live = await posting;
    const expected = await allSince(lastSeen);
    await client.until((frames) => idsOf(frames).includes(live.at(-1)!), 20_000, 'the last live message');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const received = idsOf(client.frames);
    expect(new Set(received).size).toBe(received.length);
    expect(ascending(messagesOf(client.frames))).toBe(true);
    expect(received).toEqual(expected);
    expect(received).toContain(before);
    expect(received.slice(-live.length)).toEqual(live);
  }, 90_000);

  /** Every message to the tenant after `since`, in order, as the sender's feed on B replays them. */
  async function allSince(since: string): Promise<string[]> {
    const probe = await feed(b, tenant.token, since);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    probe.close();
    return idsOf(probe.frames);
  }
});
