import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenSigner } from '../../infra/auth/tokens.js';
import { TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sign = accessTokenSigner({
  secret: TEST_JWT_SECRET,
  issuer: 'roomline',
  audience: 'roomline-api',
  ttlSeconds: 900,
});

describe('the all-in-one process over a real port', () => {
  let db: TestDatabase;
  let server: ChildProcessWithoutNullStreams;
  let base: string;
  let output = '';

  beforeAll(async () => {
    db = await createTestDatabase(2);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ['--import', 'tsx', 'infra/main.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        JWT_SECRET: TEST_JWT_SECRET,
        DATA_ENCRYPTION_KEY: TEST_DATA_ENCRYPTION_KEY,
        PORT: String(port),
        HOST: '127.0.0.1',
        ROOMLINE_PROCESS: 'all',
        LOG_LEVEL: 'warn',
        MIN_POSITION_WAIT_MS: '2000',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'roomline-e2e-')),
      },
    });
    server.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    server.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`server exited early:\n${output}`);
      const ready = await fetch(`${base}/health/ready`).catch(() => undefined);
      if (ready?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`server not ready in time:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 90_000);

  afterAll(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await db?.drop();
  });

  it('prints its URL and serves the OpenAPI docs', async () => {
    expect(output).toContain(`Roomline (all) is running at http://127.0.0.1:${new URL(base).port}`);
    const docs = await fetch(`${base}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });

  it('returns a created room with X-Min-Position', async () => {
    const landlord = { sub: crypto.randomUUID(), role: 'landlord' as const, email: 'landlord@example.test' };
    const created = await fetch(`${base}/api/rooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sign(landlord)}`, 'content-type': 'application/json' },
      body: JSON.stringify(roomBody({ title: 'Room over a real socket' })),
    });
    expect(created.status).toBe(201);
    const { id, position } = (await created.json()) as { id: string; position: string };
    const room = await fetch(`${base}/api/rooms/${id}`, {
      headers: { authorization: `Bearer ${sign(landlord)}`, 'x-min-position': position },
    });
    expect(room.status, `${await room.clone().text()}\n${output}`).toBe(200);
    expect(await room.json()).toMatchObject({
      id,
      title: 'Room over a real socket',
      status: 'draft',
      landlordId: landlord.sub,
    });
  });

  it('on SIGTERM finishes the request in flight, then exits cleanly', async () => {
    // A read that waits (up to 2 s) for a position no one will write: in flight when the signal comes.
    const inFlight = fetch(`${base}/api/rooms/${crypto.randomUUID()}`, {
      headers: { 'x-min-position': '9223372036854775000' },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toBe('NOT_CAUGHT_UP');
    expect(
      await exited,
      output
        .split('\n')
        .filter((l) => l.includes('msg'))
        .map((l) => l.slice(0, 200))
        .slice(-15)
        .join('\n'),
    ).toBe(0);
    await expect(fetch(`${base}/health/live`)).rejects.toThrow();
  }, 30_000);
});
