import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/eventStore/postgres/postgresEventStore.js';
import { newEvent } from '../contracts/eventStore.contract.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

interface Runner {
  child: ChildProcessWithoutNullStreams;
  state: Record<string, string>;
  waitFor(predicate: (state: Record<string, string>) => boolean, timeoutMs?: number): Promise<void>;
}

function startRunner(url: string): Runner {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/runnerProcess.ts'], {
    env: { ...process.env, DATABASE_URL: url },
  });
  const runner: Runner = {
    child,
    state: {},
    async waitFor(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(runner.state)) {
        if (Date.now() > deadline)
          throw new Error(`runner ${child.pid} never reached the state; last ${JSON.stringify(runner.state)}`);
        if (child.exitCode !== null) throw new Error(`runner ${child.pid} exited with ${child.exitCode}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      try {
        runner.state = (JSON.parse(line) as { states: Record<string, string> }).states;
      } catch {
        // not a state line
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`[runner ${child.pid}] ${chunk}`));
  return runner;
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('projection runner across processes', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const runners: Runner[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(6);
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url });
  });
  afterAll(async () => {
    for (const r of runners) r.child.kill('SIGKILL');
    await store?.close();
    await db?.drop();
  });

  const appendCounted = async (count: number) => {
    for (let i = 0; i < count; i++) {
      await store.append(`Counted-${randomUUID()}`, [newEvent('Counted')], { expectedRevision: 'no_stream' });
    }
  };
  const applied = async () => {
    const { rows } = await db.pool.query<{ total: string; distinct: string }>(
      'SELECT count(*) AS total, count(DISTINCT event_id) AS distinct FROM test_applied',
    );
    return { total: Number(rows[0]!.total), distinct: Number(rows[0]!.distinct) };
  };

  it('keeps one active runner per projection, and a standby takes over when the active one dies', async () => {
    const first = startRunner(db.url);
    runners.push(first);
    await first.waitFor((s) => s.test_counter === 'active' && s.rooms === 'active');
    const second = startRunner(db.url);
    runners.push(second);
    await second.waitFor((s) => s.test_counter === 'standby' && s.rooms === 'standby');

    await appendCounted(40);
    await until(async () => (await applied()).total >= 40);
    const leases = await db.pool.query(
      // pg_locks lists every database's locks: only this test's database counts.
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 7246100 AND objsubid = 2 AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    // Every projection, all held by the same (first) runner's lease session.
    expect(leases.rowCount).toBe(Object.keys(first.state).length);
    expect(new Set(leases.rows.map((r) => r.pid)).size).toBe(1);
    const byRunner = await db.pool.query<{ runner: number }>('SELECT DISTINCT runner FROM test_applied');
    expect(byRunner.rows.map((r) => r.runner)).toEqual([first.child.pid]);

    first.child.kill('SIGKILL');
    await second.waitFor((s) => s.test_counter === 'active', 20_000);
    await appendCounted(40);
    await until(async () => (await applied()).total >= 80);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await applied();
    expect(after).toEqual({ total: 80, distinct: 80 });
    const { rows } = await db.pool.query<{ position: string }>(
      "SELECT position FROM projection_checkpoints WHERE name = 'test_counter'",
    );
    expect(BigInt(rows[0]!.position)).toBeGreaterThanOrEqual(await store.headPosition());
  }, 60_000);

  it('never applies an event twice while runners start and stop around appends', async () => {
    const third = startRunner(db.url);
    runners.push(third);
    const writing = appendCounted(60);
    await new Promise((resolve) => setTimeout(resolve, 150));
    runners[1]!.child.kill('SIGKILL');
    await writing;
    await third.waitFor((s) => s.test_counter === 'active', 20_000);
    await until(async () => (await applied()).total >= 140);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await applied()).toEqual({ total: 140, distinct: 140 });
  }, 60_000);
});
