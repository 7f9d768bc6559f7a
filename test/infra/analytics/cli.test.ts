import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore } from '../../../infra/analytics/createAnalyticsStore.js';
import { runCli } from '../../support/cli.js';

/** `npm run cli -- analytics sql …` as an analyst runs it: its exit code, its output and its errors. */
const cli = (dataDir: string, ...args: string[]) => runCli(args, { DATA_DIR: dataDir });

describe('npm run cli -- analytics sql: an analyst’s read-only SQL on the embedded warehouse', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'roomline-cli-'));
  beforeAll(async () => {
    const store = createAnalyticsStore({ ANALYTICS_BACKEND: 'chdb', DATA_DIR: dataDir });
    await store.migrate();
    const at = new Date();
    await store.insert(
      'events',
      ['RoomCreated', 'BookingRequested', 'BookingRequested'].map((type, i) => ({
        event_id: `00000000-0000-4000-8000-00000000000${i}`,
        type,
        stream_id: `Stream-${i}`,
        position: i + 1,
        recorded_at: at,
        actor_role: 'tenant',
      })),
    );
    await store.close();
  }, 60_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints the rows of a query, with its column names, in the format asked for', async () => {
    const tsv = await cli(
      dataDir,
      'analytics',
      'sql',
      'SELECT type, count() AS n FROM events FINAL GROUP BY type ORDER BY type',
    );
    expect(tsv.code, tsv.stderr).toBe(0);
    expect(tsv.stdout.trim().split('\n')).toEqual(['type\tn', 'BookingRequested\t2', 'RoomCreated\t1']);
    const json = await cli(dataDir, 'analytics', 'sql', 'SELECT count() AS n FROM events', '--format', 'JSONEachRow');
    expect(JSON.parse(json.stdout)).toEqual({ n: 3 });
  }, 60_000);

  it('refuses to change anything: writes and schema changes fail, read-only cannot be lifted, and the rows stay', async () => {
    for (const statement of [
      "INSERT INTO events (event_id, type, stream_id, position, recorded_at, actor_role) VALUES (generateUUIDv4(), 'X', 'S', 9, now(), 'admin')",
      'DROP TABLE events',
      "ALTER TABLE events UPDATE type = 'X' WHERE 1",
    ]) {
      const answer = await cli(dataDir, 'analytics', 'sql', statement);
      expect(answer.code, statement).toBe(1);
      expect(answer.stderr).toMatch(/^analytics sql: .*DB::Exception/);
    }
    // What a query may still try, the engine's read-only mode refuses.
    for (const statement of [
      'SELECT count() FROM events SETTINGS readonly = 0',
      "SELECT * FROM file('/etc/hostname', 'LineAsString')",
    ]) {
      const answer = await cli(dataDir, 'analytics', 'sql', statement);
      expect(answer.code, statement).toBe(1);
      expect(answer.stderr, statement).toContain('(READONLY)');
    }
    const count = await cli(dataDir, 'analytics', 'sql', 'SELECT count() FROM events', '--format', 'CSV');
    expect(count.stdout.trim()).toBe('3');
  }, 120_000);

  it('explains its usage and exits 2 without a query, or with an unknown format or command', async () => {
    for (const args of [['analytics', 'sql'], ['analytics', 'sql', 'SELECT 1', '--format', 'Pretty'], ['nonsense']]) {
      const answer = await cli(dataDir, ...args);
      expect(answer.code, args.join(' ')).toBe(2);
      expect(answer.stderr).toContain('usage: npm run cli -- analytics sql');
    }
  }, 60_000);
});
