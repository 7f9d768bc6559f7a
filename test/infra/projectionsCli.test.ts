import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendPlatformHistory } from '../../infra/demo/platformHistory.js';
import { createTestApp, TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET, type TestApp } from '../support/app.js';
import { runCli } from '../support/cli.js';

/**
 * `npm run cli -- projections …` as support runs it from a shell, in a process of its own, against a deployment
 * whose projector (here the test app's runner) carries out what it asks.
 */
let t: TestApp;
let dataDir: string;
const cli = (...args: string[]) =>
  runCli(['projections', ...args], {
    DATABASE_URL: t.db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_ENCRYPTION_KEY: TEST_DATA_ENCRYPTION_KEY,
    DATA_DIR: dataDir,
    QUEUE_PREFIX: t.runtime.config.QUEUE_PREFIX,
    LOG_LEVEL: 'silent',
  });

async function caughtUp(): Promise<void> {
  const head = await t.runtime.eventStore.headPosition();
  for (let i = 0; i < 300; i++) {
    const { rows } = await t.db.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM projection_checkpoints WHERE name IN ('rooms', 'users') AND position >= $1",
      [head.toString()],
    );
    if (Number(rows[0]!.n) === 2) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('rooms and users did not catch up');
}

beforeAll(async () => {
  t = await createTestApp();
  dataDir = mkdtempSync(join(tmpdir(), 'roomline-cli-'));
  await appendPlatformHistory(
    t.runtime.eventStore,
    (userId) => t.runtime.identity.eraseKeys(userId),
    600,
    t.runtime.clock.now().getTime() - 30 * 86_400_000,
    { seed: 3 },
  );
  await caughtUp();
}, 120_000);

afterAll(async () => {
  await t?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('npm run cli -- projections', () => {
  it('lists every projection with its status, checkpoint, lag and parked events, and shows one as JSON', async () => {
    const list = await cli('list');
    expect(list.code, list.stderr).toBe(0);
    const [header, ...lines] = list.stdout.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'VERSION', 'STATUS', 'CHECKPOINT', 'LAG', 'PARKED', 'REBUILD']);
    const names = lines.map((line) => line.split(/\s+/)[0]);
    expect(names).toEqual(expect.arrayContaining(['rooms', 'users', 'bookings', 'messaging']));
    expect(lines.find((line) => line.startsWith('rooms '))).toMatch(/^rooms\s+\d+\s+live\s+\d+\s+-\s+0\s+-$/);

    const status = await cli('status', 'rooms');
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'rooms', status: 'live', lagEvents: 0, parkedEvents: 0 });
  }, 60_000);

  it('rebuilds a read model beside the live one and follows it to the switch, the rows the same after', async () => {
    const before = await t.db.pool.query('SELECT id, revision FROM rooms ORDER BY id');
    expect(before.rowCount).toBeGreaterThan(0);
    const rebuilt = await cli('rebuild', 'rooms');
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('rooms: rebuild asked for');
    expect(rebuilt.stderr).toMatch(/rooms: rebuilt, [\d,]+ events at [\d,]+ events\/s, switched in/);
    const after = await t.db.pool.query('SELECT id, revision FROM rooms ORDER BY id');
    expect(after.rows).toEqual(before.rows);
    const status = JSON.parse((await cli('status', 'rooms')).stdout);
    expect(status.rebuild).toMatchObject({ status: 'done', progress: 1 });
  }, 120_000);

  it('rebuilds one stream’s rows, and says so', async () => {
    const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM rooms LIMIT 1');
    const answer = await cli('rebuild', 'rooms', '--stream', `Room-${rows[0]!.id}`);
    expect(answer.code, answer.stderr).toBe(0);
    expect(answer.stdout).toMatch(new RegExp(`rooms: Room-${rows[0]!.id} rebuilt from \\d+ events at position \\d+`));
  }, 60_000);

  it('pauses and resumes a projection, the list showing it', async () => {
    const paused = await cli('pause', 'users');
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout.trim()).toBe('users: paused');
    expect((await cli('list')).stdout).toMatch(/^users\s+\d+\s+paused\b/m);
    const resumed = await cli('resume', 'users');
    expect(resumed.stdout.trim()).toBe('users: resumed');
    expect((await cli('list')).stdout).toMatch(/^users\s+\d+\s+(live|catching_up)\b/m);
  }, 60_000);

  it('says there is nothing parked, and refuses what is not a parked event', async () => {
    const parked = await cli('parked');
    expect(parked).toMatchObject({ code: 0, stdout: 'no parked events\n' });
    const unknown = await cli('retry', '3f9a4c1e-0000-4000-8000-000000000000');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no parked event has the id');
  }, 60_000);

  it('answers hostile or wrong arguments with the usage or the names, exit code 2, and changes nothing', async () => {
    // Each call starts a process and a runtime (some 4 s here): a few that stand for the rest.
    for (const args of [
      ['status', "rooms'; DROP TABLE rooms; --"],
      ['rebuild', `zimmer-ünicode-🏠${'x'.repeat(10_000)}`],
    ]) {
      const answer = await cli(...args);
      expect(answer.code, args.join(' ')).toBe(2);
      expect(answer.stderr).toMatch(/no projection is named .*; the names are .*rooms/);
    }
    for (const args of [['retry', 'not-a-uuid'], ['frobnicate']]) {
      const answer = await cli(...args);
      expect(answer.code, args.join(' ')).toBe(2);
      expect(answer.stderr).toContain('npm run cli -- projections list');
    }
    const stream = await cli('rebuild', 'users', '--stream');
    expect(stream.code).toBe(2);
    expect((await t.db.pool.query('SELECT count(*)::int AS n FROM rooms')).rows[0].n).toBeGreaterThan(0);
  }, 120_000);
});
