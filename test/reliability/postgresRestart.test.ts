import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDatabase } from '../../infra/db/prepare.js';
import { createRuntime, type Runtime } from '../../infra/runtime.js';
import { buildApp } from '../../read-api/app.js';
import { testConfig, testTokens } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { deleteRedisKeys } from '../support/redis.js';

/**
 * PostgreSQL restarted under load. The shared test server cannot be stopped (every other file uses it), so this file
 * starts a PostgreSQL of its own (initdb as the postgres user, a port of its own) and stops and starts that one while
 * clients keep creating rooms over real HTTP. A client retries a 503 with the same Idempotency-Key, as API.md asks.
 */
/** The newest installed PostgreSQL's programs (Debian keeps them per major version). */
const BIN = readdirSync('/usr/lib/postgresql')
  .filter((version) => existsSync(join('/usr/lib/postgresql', version, 'bin', 'initdb')))
  .sort((a, b) => Number(b) - Number(a))
  .map((version) => join('/usr/lib/postgresql', version, 'bin'))[0]!;
const PORT = 5400 + Math.floor(Math.random() * 90);
const base = mkdtempSync(join(tmpdir(), 'roomline-pg-restart-'));
const dataDir = join(base, 'data');
const url = `postgres://postgres@127.0.0.1:${PORT}/roomline`;

function asPostgres(command: string, args: string[]): void {
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args], { stdio: 'pipe' });
}
const startServer = () =>
  asPostgres('pg_ctl', [
    '-D',
    dataDir,
    '-l',
    join(base, 'server.log'),
    '-w',
    '-o',
    `-p ${PORT} -k ${base} -c listen_addresses=127.0.0.1`,
    'start',
  ]);
const stopServer = () => asPostgres('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);

let runtime: Runtime;
let app: Awaited<ReturnType<typeof buildApp>>;
let origin: string;
let queuePrefix: string;

beforeAll(async () => {
  execFileSync('chown', ['postgres:postgres', base]);
  asPostgres('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  startServer();
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${PORT}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE roomline');
  await admin.end();
  await prepareDatabase(url);
  const config = testConfig(url, { PG_POOL_SIZE: '6' });
  queuePrefix = config.QUEUE_PREFIX;
  runtime = await createRuntime(config, pino({ level: 'silent' }));
  app = await buildApp(runtime);
  origin = await app.listen({ port: 0, host: '127.0.0.1' });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await runtime?.close();
  await deleteRedisKeys(queuePrefix);
  try {
    stopServer();
  } catch {
    // already stopped
  }
  rmSync(base, { recursive: true, force: true });
});

describe('PostgreSQL restarted under load', () => {
  it('answers 503 with Retry-After while it is down, recovers without a restart, and loses or doubles no accepted command', async () => {
    const token = testTokens(runtime.config)('landlord');
    const statuses = new Map<number, number>();
    const unavailable: Array<{ retryAfter: string | null; error: string }> = [];
    const created = new Map<string, string>();

    /** One logical command: retried with the same key until it is accepted (or the test ends). */
    async function createRoom(key: string): Promise<void> {
      for (;;) {
        const response = await fetch(`${origin}/api/rooms`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify(roomBody({ title: `Room ${key.slice(0, 8)}` })),
        }).catch(() => null);
        const status = response?.status ?? 0;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (response && status === 201) {
          created.set(key, ((await response.json()) as { id: string }).id);
          return;
        }
        const body = response ? await response.text() : '';
        if (status === 503) {
          unavailable.push({ retryAfter: response!.headers.get('retry-after'), error: JSON.parse(body).error });
        }
        // A retry that comes while the first try's claim on the key is still open is told to wait (409 + Retry-After).
        const inProgress = status === 409 && JSON.parse(body).error === 'IDEMPOTENCY_IN_PROGRESS';
        if (status !== 503 && !inProgress) throw new Error(`a request got ${status}: ${body}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    const keys: string[] = [];
    // The clients send until told to stop, so the outage always falls in the middle of the load.
    let sending = true;
    const clients = Array.from({ length: 8 }, async () => {
      while (sending) {
        const key = randomUUID();
        keys.push(key);
        await createRoom(key);
      }
    });
    const createdAtLeast = async (count: number) => {
      for (const deadline = performance.now() + 20_000; created.size < count; ) {
        if (performance.now() > deadline) throw new Error(`only ${created.size} of ${count} rooms were created`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // Some commands through, then the server stopped for three seconds while the clients keep sending.
    await createdAtLeast(16);
    stopServer();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    startServer();
    const restarted = performance.now();
    await createdAtLeast(created.size + 16);
    sending = false;
    await Promise.all(clients);
    // Back without restarting the app: the commands caught in the outage went through within seconds, not after the
    // minute a claim left by a dead process waits.
    expect(performance.now() - restarted).toBeLessThan(20_000);

    // Nothing but 201, 503 (with Retry-After) and 409 "in progress" was ever answered.
    expect([...statuses.keys()].every((status) => [201, 409, 503].includes(status))).toBe(true);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const answer of unavailable) {
      expect(answer.retryAfter).toMatch(/^\d+$/);
      expect(answer.error).toMatch(/^[A-Z_]+$/);
    }
    // Every logical command was accepted once and is in the store once: one room stream per key, one creation each.
    expect(created.size).toBe(keys.length);
    expect(new Set(created.values()).size).toBe(keys.length);
    const check = new pg.Client({ connectionString: url });
    await check.connect();
    try {
      const { rows } = await check.query<{ stream_id: string; creations: string }>(
        `SELECT stream_id, count(*) AS creations FROM event_store.events
          WHERE type = 'RoomCreated' GROUP BY stream_id`,
      );
      expect(rows.length).toBe(keys.length);
      expect(rows.every((row) => row.creations === '1')).toBe(true);
      expect(new Set(rows.map((row) => row.stream_id.replace(/^Room-/, '')))).toEqual(new Set(created.values()));
    } finally {
      await check.end();
    }
  }, 60_000);
});
