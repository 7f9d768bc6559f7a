import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomBody } from '../support/builders/rooms.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ServerProcess, signTestToken, startServer } from '../support/serverProcess.js';

const sign = signTestToken;

describe('the all-in-one process over a real port', () => {
  let db: TestDatabase;
  let proc: ServerProcess;
  let server: ServerProcess['child'];
  let base: string;
  const output = () => proc.output();

  beforeAll(async () => {
    db = await createTestDatabase(2);
    proc = await startServer(db.url, { ROOMLINE_PROCESS: 'all', MIN_POSITION_WAIT_MS: '2000' });
    server = proc.child;
    base = proc.base;
  }, 90_000);

  afterAll(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await db?.drop();
  });

  it('prints its URL and serves the OpenAPI docs', async () => {
    expect(output()).toContain(`Roomline (all) is running at http://127.0.0.1:${new URL(base).port}`);
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
    expect(room.status, `${await room.clone().text()}\n${output()}`).toBe(200);
    expect(await room.json()).toMatchObject({
      id,
      title: 'Room over a real socket',
      status: 'draft',
      landlordId: landlord.sub,
    });
  });

  it('on SIGTERM finishes the request in flight, then exits cleanly', async () => {
    // A read that waits (up to 2 s) for a position the rooms projection cannot reach (its checkpoint row is
    // locked here): in flight when the signal comes. A position beyond the newest event would be a 400 at once.
    const landlord = { sub: crypto.randomUUID(), role: 'landlord' as const, email: 'landlord@example.test' };
    const lock = await db.pool.connect();
    await lock.query('BEGIN');
    await lock.query("SELECT 1 FROM projection_checkpoints WHERE name = 'rooms' FOR UPDATE");
    const created = await fetch(`${base}/api/rooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sign(landlord)}`, 'content-type': 'application/json' },
      body: JSON.stringify(roomBody({ title: 'Room the projection has not seen' })),
    });
    const { id, position } = (await created.json()) as { id: string; position: string };
    const inFlight = fetch(`${base}/api/rooms/${id}`, { headers: { 'x-min-position': position } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    const response = await inFlight.finally(async () => {
      await lock.query('ROLLBACK');
      lock.release();
    });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toBe('NOT_CAUGHT_UP');
    expect(
      await exited,
      output()
        .split('\n')
        .filter((l) => l.includes('msg'))
        .map((l) => l.slice(0, 200))
        .slice(-15)
        .join('\n'),
    ).toBe(0);
    await expect(fetch(`${base}/health/live`)).rejects.toThrow();
  }, 30_000);
});
