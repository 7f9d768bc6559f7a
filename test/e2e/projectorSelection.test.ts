import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStreamId } from '../../domain/identity/events.js';
import { createRuntime } from '../../infra/runtime.js';
import { TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** A projector process (`infra/main.ts`, ROOMLINE_PROCESS=projector) with PROJECTIONS set; its output and exit. */
function projector(databaseUrl: string, projections: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/main.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_ENCRYPTION_KEY: TEST_DATA_ENCRYPTION_KEY,
      ROOMLINE_PROCESS: 'projector',
      PROJECTIONS: projections,
      LOG_LEVEL: 'info',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'roomline-projector-')),
    },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, exited, output: () => output };
}

describe('PROJECTIONS: a projector process that runs only the projections it names', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(2);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('refuses to start with a name no projection has, and says which names there are', async () => {
    const proc = projector(db.url, 'users,no-such-projection');
    const code = await proc.exited;
    expect(code).toBe(1);
    expect(proc.output()).toContain('PROJECTIONS: no projection named no-such-projection (there are: ');
    expect(proc.output()).toContain('users');
  }, 60_000);

  it('runs the one it names and no other', async () => {
    const proc = projector(db.url, 'users');
    // Appends through the app's own store: personal data sealed as the projector expects it.
    const runtime = await createRuntime(testConfig(db.url), pino({ level: 'silent' }));
    const store = runtime.eventStore;
    try {
      const deadline = Date.now() + 60_000;
      while (!proc.output().includes('Roomline is running') && Date.now() < deadline && proc.child.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(proc.output()).toContain('Roomline is running');
      const userId = randomUUID();
      const at = new Date().toISOString();
      const { position } = await store.append(
        userStreamId(userId),
        [
          {
            eventId: randomUUID(),
            type: 'UserRegistered',
            schemaVersion: 2,
            data: {
              userId,
              role: 'tenant',
              email: `${userId.slice(0, 8)}@example.org`,
              phone: null,
              fullName: 'Selected Projection',
              universityName: null,
              businessName: null,
              profilePictureUrl: null,
              registeredAt: at,
            },
            metadata: {
              correlationId: randomUUID(),
              causationId: null,
              actorId: userId,
              actorRole: 'tenant',
              occurredAt: at,
              requestId: null,
            },
          },
        ],
        { expectedRevision: 'no_stream' },
      );
      let checkpoints: Array<{ name: string; position: string }> = [];
      while (Date.now() < deadline) {
        ({ rows: checkpoints } = await db.pool.query<{ name: string; position: string }>(
          'SELECT name, position::text FROM projection_checkpoints ORDER BY name',
        ));
        if (checkpoints.some((c) => c.name === 'users' && BigInt(c.position) >= position)) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Only the one named ever took its lease and wrote a checkpoint.
      expect(checkpoints.map((c) => c.name)).toEqual(['users']);
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE id = $1', [
        userId,
      ]);
      expect(rows[0]!.n).toBe(1);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
      await runtime.close();
    }
  }, 90_000);
});
