import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../infra/clock/clock.js';
import type { Mailer } from '../../infra/mail/mailer.js';
import { createFileOutboxMailer } from '../../infra/mail/transports.js';
import {
  createQueue,
  enqueueMail,
  type MailJob,
  mailJobId,
  QueueNames,
  queueConnection,
} from '../../infra/queues/queues.js';
import { MaintenanceJobs, purgeExpiredIdempotencyKeys, scheduleMaintenance } from '../../workers/maintenance.js';
import { startWorkers } from '../../workers/startWorkers.js';
import { serverUrl } from '../support/database.js';
import { aMail, deleteRedisKeys, MAIL_FROM, REDIS_URL, uniquePrefix, waitFor } from './support.js';

/** A database of its own with just the tables the hourly jobs clean, dropped after the file. */
async function createScratchDatabase() {
  const name = `rl_scratch_workers_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const pool = new pg.Pool({ connectionString: serverUrl(name), max: 4 });
  await pool.query(
    `CREATE TABLE idempotency_keys (scope text, key text, request_hash text, status_code int, response jsonb,
       created_at timestamptz default now(), completed_at timestamptz, primary key (scope, key))`,
  );
  await pool.query(
    `CREATE TABLE refresh_tokens (id uuid, family_id uuid, expires_at timestamptz);
     CREATE TABLE refresh_families (id uuid, expires_at timestamptz);
     CREATE TABLE password_reset_tokens (expires_at timestamptz, used_at timestamptz)`,
  );
  return {
    pool,
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: serverUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Dated by the app's clock (the purge compares with it, not with the database's). */
async function insertKey(pool: pg.Pool, key: string, age: string): Promise<void> {
  await pool.query(
    `INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ('POST /api/bookings', $1, 'h', $3::timestamptz - $2::interval)`,
    [key, age, systemClock.now()],
  );
}

async function keys(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ key: string }>('SELECT key FROM idempotency_keys ORDER BY key');
  return rows.map((r) => r.key);
}

describe('startWorkers', () => {
  const prefix = uniquePrefix();
  const at = queueConnection(REDIS_URL, prefix);
  const logger = pino({ level: 'silent' });
  let db: Awaited<ReturnType<typeof createScratchDatabase>>;
  let dataDir: string;
  /** What the composition root gives the workers: here a file outbox and no booking or file jobs. */
  const start = async (mailer: Mailer) => {
    const maintenanceQueue = createQueue(QueueNames.maintenance, at);
    const workers = await startWorkers({
      at,
      maintenanceQueue,
      mailer,
      clock: systemClock,
      logger,
      pool: db.pool,
      addressOf: async () => undefined,
    });
    return {
      async close() {
        await workers.close();
        await maintenanceQueue.close();
      },
    };
  };

  beforeAll(async () => {
    db = await createScratchDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'rl-workers-'));
  });

  afterAll(async () => {
    await db?.drop();
    await deleteRedisKeys(prefix);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs the maintenance job at once and hourly, deleting only idempotency keys older than 24 hours', async () => {
    await insertKey(db.pool, 'a-two-days-old', '2 days');
    await insertKey(db.pool, 'b-a-day-and-a-minute-old', '24 hours 1 minute');
    await insertKey(db.pool, 'c-23-hours-old', '23 hours');
    await insertKey(db.pool, 'd-new', '0 seconds');
    const mailer = createFileOutboxMailer(join(dataDir, 'outbox'), MAIL_FROM);
    const workers = await start(mailer);
    try {
      await waitFor('the expired keys deleted', async () => (await keys(db.pool)).length === 2);
      expect(await keys(db.pool)).toEqual(['c-23-hours-old', 'd-new']);

      const queue = createQueue(QueueNames.maintenance, at);
      try {
        const scheduler = await queue.getJobScheduler(MaintenanceJobs.purgeIdempotencyKeys);
        expect(scheduler?.every).toBe(60 * 60 * 1000);
        expect((await queue.getJobScheduler(MaintenanceJobs.purgeExpiredSessions))?.every).toBe(60 * 60 * 1000);
        // Every process registers the schedules at start-up; they stay one schedule each.
        await scheduleMaintenance(queue);
        expect(await queue.getJobSchedulersCount()).toBe(2);
      } finally {
        await queue.close();
      }
    } finally {
      await workers.close();
      await mailer.close();
    }
  });

  it('purgeExpiredIdempotencyKeys reports how many rows it deleted', async () => {
    await insertKey(db.pool, 'e-three-days-old', '3 days');

    expect(await purgeExpiredIdempotencyKeys(db.pool, systemClock.now())).toBe(1);
    expect(await purgeExpiredIdempotencyKeys(db.pool, systemClock.now())).toBe(0);
    expect(await keys(db.pool)).toEqual(['c-23-hours-old', 'd-new']);
  });

  it('close() lets a mail in flight finish before it returns', async () => {
    const outbox = createFileOutboxMailer(join(dataDir, 'outbox'), MAIL_FROM);
    let started = false;
    const slowMailer: Mailer = {
      async send(message) {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 500));
        return outbox.send(message);
      },
      close: () => outbox.close(),
    };
    const workers = await start(slowMailer);
    const queue = createQueue<MailJob>(QueueNames.mail, at);
    const mail = aMail();
    try {
      await enqueueMail(queue, mail);
      await waitFor('the send to start', () => started);

      await workers.close();

      expect(await readdir(join(dataDir, 'outbox'))).toContain(`${encodeURIComponent(mail.idempotencyKey)}.eml`);
      expect(await (await queue.getJob(mailJobId(mail.idempotencyKey)))?.getState()).toBe('completed');
    } finally {
      await queue.close();
      await slowMailer.close();
    }
  });
});
