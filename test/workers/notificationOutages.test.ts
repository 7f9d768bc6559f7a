import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { changeBookingStatus } from '../../commands/bookings.js';
import { notificationProcessName } from '../../commands/notifications.js';
import { notificationDeliveryName } from '../../projections/notifications/notificationDelivery.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { confirmedBooking, dayFromNow, registered, startNotificationWorker } from '../support/notificationFlows.js';
import { MAIL_FROM, parseMail, type ReceivedMail, waitFor } from './support.js';

/** A free loopback port (taken and released: a server started on it soon after gets it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real SMTP server that can be stopped and started again on the same port, keeping what it received. */
function restartableSmtp(port: number) {
  const received: ReceivedMail[] = [];
  let server: SMTPServer | undefined;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    async start() {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            received.push({
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
              rcptTo: session.envelope.rcptTo.map((a) => a.address),
              raw: Buffer.concat(chunks).toString('utf8'),
            });
            callback();
          });
        },
      });
      const listening = server;
      await new Promise<void>((resolve, reject) => {
        listening.server.once('error', reject);
        listening.listen(port, '127.0.0.1', () => resolve());
      });
    },
    async stop() {
      const closing = server;
      server = undefined;
      if (!closing) return;
      // Open pooled connections are cut, as when a relay goes down.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 3_000);
        closing.close(() => {
          clearTimeout(timer);
          resolve();
        });
        for (const connection of (closing as unknown as { connections: Set<{ close(): void }> }).connections ?? []) {
          connection.close();
        }
      });
    },
  };
}

const messageIds = (mails: ReceivedMail[]) => mails.map((mail) => parseMail(mail.raw).headers.get('message-id')!);
const counts = (ids: string[]) => {
  const map = new Map<string, number>();
  for (const id of ids) map.set(id, (map.get(id) ?? 0) + 1);
  return map;
};

describe('notification mail while the SMTP relay is down', () => {
  let t: TestApp | undefined;
  let worker: Worker | undefined;
  let dataDir: string | undefined;
  let smtp: ReturnType<typeof restartableSmtp> | undefined;
  afterAll(async () => {
    await worker?.close();
    await t?.close();
    await smtp?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers every pending mail exactly once after the relay comes back', async () => {
    smtp = restartableSmtp(await freePort());
    await smtp.start();
    dataDir = await mkdtemp(join(tmpdir(), 'rl-smtp-outage-'));
    t = await createTestApp({ config: { SMTP_URL: smtp.url, MAIL_FROM, DATA_DIR: dataDir } });
    worker = await startNotificationWorker(t);
    const landlord = await registered(t, 'landlord', 'Marco Bianchi');
    const tenants = await Promise.all([1, 2, 3].map((i) => registered(t!, 'tenant', `Tenant ${i}`)));

    await smtp.stop();
    for (const tenant of tenants) await confirmedBooking(t, landlord, tenant);
    // Per booking: the request to the landlord, the confirmation and the payment due to the tenant.
    const expected = tenants.length * 3;
    const queue = t.runtime.queues.notifications;
    await waitFor(
      'every delivery failed once against the stopped relay',
      async () => {
        const jobs = await queue.getJobs(['delayed', 'waiting', 'active', 'completed', 'failed']);
        const deliveries = jobs.filter((job) => job.name === 'deliver');
        return deliveries.length === expected && deliveries.every((job) => job.attemptsMade >= 1);
      },
      20_000,
    );
    expect(smtp.received).toHaveLength(0);

    await smtp.start();
    let lastSeen = '';
    await waitFor('every pending mail', () => smtp!.received.length >= expected, 40_000);
    // Nothing more arrives: no retry sends a second copy.
    await waitFor(
      'every delivery completed',
      async () => {
        // The reminders the day before check-in wait in the delayed set: only deliveries count here.
        const left = (await queue.getJobs(['delayed', 'waiting', 'active', 'failed'])).filter(
          (j) => j.name === 'deliver',
        );
        lastSeen = left.map((j) => `${j.name} ${j.id} attempts=${j.attemptsMade} ${j.failedReason}`).join('\n');
        return left.length === 0;
      },
      20_000,
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${lastSeen}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const ids = messageIds(smtp.received);
    expect(ids).toHaveLength(expected);
    expect([...counts(ids).values()].every((n) => n === 1)).toBe(true);
    const recipients = smtp.received.flatMap((mail) => mail.rcptTo);
    for (const tenant of tenants) expect(recipients.filter((r) => r === tenant.email)).toHaveLength(2);
    expect(recipients.filter((r) => r === landlord.email)).toHaveLength(3);
  }, 90_000);
});

function withoutFaketime(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('FAKETIME') || name === 'LD_PRELOAD' || name === 'DONT_FAKE_MONOTONIC') delete env[name];
  }
  return env;
}

/** A Redis of this test alone (the shared one stays up), persisting to an append-only file so a restart keeps it. */
function dedicatedRedis(port: number, dir: string) {
  let child: ChildProcess | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined;
    },
    async start() {
      child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
          '--save',
          '',
        ],
        // Not under the suite's faketime (libfaketime breaks redis-server): Redis keeps real time, as the shared one does.
        { stdio: 'ignore', env: withoutFaketime() },
      );
      const probe = new Redis(`redis://127.0.0.1:${port}`, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on('error', () => {});
      try {
        await waitFor(
          'redis-server to answer',
          async () =>
            (await probe.connect().then(
              () => probe.ping(),
              () => undefined,
            )) === 'PONG' || undefined,
          10_000,
        );
      } finally {
        probe.disconnect();
      }
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    },
  };
}

describe('notifications while Redis is down', () => {
  let t: TestApp | undefined;
  let worker: Worker | undefined;
  let dir: string | undefined;
  let redis: ReturnType<typeof dedicatedRedis> | undefined;
  let smtp: ReturnType<typeof restartableSmtp> | undefined;
  afterAll(async () => {
    // Closing queues and workers needs their Redis: a test that failed while it was down starts it again first.
    if (redis && !redis.running) await redis.start();
    await worker?.close().catch(() => {});
    await t?.close().catch(() => {});
    await redis?.stop();
    await smtp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores the events, answers requests within a bound, and sends every notification once after Redis returns', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rl-redis-outage-'));
    redis = dedicatedRedis(await freePort(), dir);
    await redis.start();
    smtp = restartableSmtp(await freePort());
    await smtp.start();
    t = await createTestApp({ config: { REDIS_URL: redis.url, SMTP_URL: smtp.url, MAIL_FROM, DATA_DIR: dir } });
    worker = await startNotificationWorker(t);
    const landlord = await registered(t, 'landlord', 'Marco Bianchi');
    const tenants = await Promise.all([1, 2, 3, 4].map((i) => registered(t!, 'tenant', `Tenant ${i}`)));
    // Booked while Redis is up: each request notifies the landlord.
    const bookings: string[] = [];
    for (const tenant of tenants) {
      const room = await t.app.inject({
        method: 'POST',
        url: '/api/rooms',
        headers: landlord.headers,
        payload: roomBody(),
      });
      await t.app.inject({ method: 'POST', url: `/api/rooms/${room.json().id}/publish`, headers: landlord.headers });
      const requested = await t.app.inject({
        method: 'POST',
        url: '/api/bookings',
        headers: tenant.headers,
        payload: { roomId: room.json().id, checkIn: dayFromNow(40), checkOut: dayFromNow(42), guests: 1 },
      });
      expect(requested.statusCode, requested.body).toBe(201);
      bookings.push(requested.json().id as string);
    }

    await redis.stop();
    // Confirmed while Redis is away (by the command the route runs: the route's sign-in check needs Redis).
    for (const bookingId of bookings) {
      const now = t.runtime.clock.now().toISOString();
      await changeBookingStatus(
        { store: t.runtime.eventStore },
        { type: 'ConfirmBooking', data: { bookingId }, context: { actorId: landlord.id, actorRole: 'landlord', now } },
        {
          now,
          newId: randomUUID,
          metadata: {
            correlationId: randomUUID(),
            causationId: null,
            actorId: landlord.id,
            actorRole: 'landlord',
            requestId: null,
          },
        },
      );
    }
    // Requests meanwhile answer, and fast: none waits for Redis.
    const timings: Array<{ url: string; status: number; ms: number }> = [];
    for (const request of [
      { method: 'GET' as const, url: '/api/notifications', headers: tenants[0]!.headers },
      { method: 'GET' as const, url: '/health/ready' },
      { method: 'POST' as const, url: '/api/auth/password-reset', payload: { email: tenants[1]!.email } },
      { method: 'GET' as const, url: '/api/universities' },
    ]) {
      const started = performance.now();
      const response = await t.app.inject(request);
      timings.push({ url: request.url, status: response.statusCode, ms: Math.round(performance.now() - started) });
      expect(response.statusCode, `${request.url}: ${response.body}`).toBeLessThan(500 + 4);
      expect(response.statusCode === 500, `${request.url} answered 500`).toBe(false);
    }
    console.info(`Redis down: ${timings.map((x) => `${x.url} ${x.status} in ${x.ms} ms`).join('; ')}`);
    for (const timing of timings) expect(timing.ms, timing.url).toBeLessThan(5_000);
    // The notifications are raised (event store only) while the delivery waits for Redis, parking nothing.
    await waitFor(
      'the confirmations raised',
      async () => {
        const { rows } = await t!.runtime.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM notifications WHERE kind = 'booking_confirmed'",
        );
        return rows[0]!.n === bookings.length;
      },
      20_000,
    ).catch(async (error) => {
      const dump = await t!.runtime.pool.query(
        'SELECT name, position, last_error FROM projection_checkpoints ORDER BY name',
      );
      const rows = await t!.runtime.pool.query('SELECT kind, user_id FROM notifications');
      const head = await t!.runtime.eventStore.headPosition();
      throw new Error(
        `${(error as Error).message} head ${head}\n${JSON.stringify(dump.rows)}\n${JSON.stringify(rows.rows)}`,
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const parked = await t.runtime.pool.query('SELECT * FROM projection_parked WHERE projection = ANY($1)', [
      [notificationProcessName, notificationDeliveryName],
    ]);
    expect(parked.rows).toEqual([]);

    const downSince = performance.now();
    await redis.start();
    // Per booking: the request to the landlord (before), the confirmation and the payment due to the tenant.
    const expected = bookings.length * 3;
    await waitFor('every notification mail', () => smtp!.received.length >= expected, 60_000);
    console.info(`Redis back: ${expected} mails within ${Math.round(performance.now() - downSince)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const ids = messageIds(smtp.received);
    expect(ids).toHaveLength(expected);
    expect([...counts(ids).values()].every((n) => n === 1)).toBe(true);
    for (const tenant of tenants) {
      const subjects = smtp.received
        .filter((mail) => mail.rcptTo.includes(tenant.email))
        .map((mail) => parseMail(mail.raw).headers.get('subject'));
      expect(subjects.filter((s) => s?.endsWith('confirmed'))).toHaveLength(1);
      expect(subjects.filter((s) => s?.startsWith('Payment due'))).toHaveLength(1);
    }
    expect(parked.rows).toEqual([]);
  }, 120_000);
});
