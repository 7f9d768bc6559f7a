import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markRead, sendMessage, startConversation } from '../../commands/messaging.js';
import {
  notificationIdFor,
  notificationProcessName,
  raiseNotification,
  runBookingReminder,
} from '../../commands/notifications.js';
import { messageIdFor } from '../../infra/mail/mailer.js';
import { digestJobId, reminderJobId } from '../../infra/notifications/bullNotificationJobs.js';
import type { ReminderJob } from '../../infra/notifications/ports.js';
import { notificationDeliveryName } from '../../projections/notifications/notificationDelivery.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { createTestApp, type TestApp } from '../support/app.js';
import {
  confirmedBooking,
  dayFromNow,
  notificationEventsOf,
  registered,
  startNotificationWorker,
} from '../support/notificationFlows.js';
import { MAIL_FROM, parseMail, startSmtpServer, type TestSmtpServer, waitFor } from '../workers/support.js';

const APP_URL = 'https://roomline.test';
let t: TestApp;
let smtp: TestSmtpServer;
let worker: Worker;
let dataDir: string;

beforeAll(async () => {
  smtp = await startSmtpServer();
  dataDir = await mkdtemp(join(tmpdir(), 'rl-notifications-'));
  t = await createTestApp({ config: { SMTP_URL: smtp.url, MAIL_FROM, APP_URL, DATA_DIR: dataDir } });
  worker = await startNotificationWorker(t);
});
afterAll(async () => {
  await worker?.close();
  await t?.close();
  await smtp?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

type Headers = Record<string, string>;
const mailsTo = (address: string) => smtp.received.filter((mail) => mail.rcptTo.includes(address));
const list = async (headers: Headers, query = '') => {
  const response = await t.app.inject({ method: 'GET', url: `/api/notifications${query}`, headers });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as {
    items: Array<{
      id: string;
      kind: string;
      subject: Record<string, string>;
      createdAt: string;
      readAt: string | null;
    }>;
    nextCursor: string | null;
  };
};
const listed = (headers: Headers, kind: string, count = 1) =>
  waitFor(`${count} ${kind} notification(s)`, async () => {
    const items = (await list(headers)).items.filter((item) => item.kind === kind);
    return items.length >= count && items;
  });
const preferences = (headers: Headers, method: 'GET' | 'PUT' = 'GET', payload?: unknown) =>
  t.app.inject({ method, url: '/api/notifications/preferences', headers, ...(payload ? { payload } : {}) });

describe('notifications over real SMTP', () => {
  const hostileName = `<script>alert("x")</script> & 'Zoë' 🏠`;
  let tenant: Awaited<ReturnType<typeof registered>>;
  let landlord: Awaited<ReturnType<typeof registered>>;
  let booking: Awaited<ReturnType<typeof confirmedBooking>>;
  let unsubscribeUrl: string;

  beforeAll(async () => {
    tenant = await registered(t, 'tenant', hostileName);
    landlord = await registered(t, 'landlord', 'Marco Bianchi');
    booking = await confirmedBooking(t, landlord, tenant);
  });

  it('mails the tenant the confirmation: subject, both bodies escaped, recipient, one-click unsubscribe headers', async () => {
    const [received] = await waitFor('the confirmation mail', () => {
      const mails = mailsTo(tenant.email).filter((m) => parseMail(m.raw).headers.get('subject')?.includes('confirmed'));
      return mails.length > 0 && mails;
    });
    const mail = parseMail(received!.raw);
    const [confirmation] = await listed(tenant.headers, 'booking_confirmed');
    expect(mail.headers.get('subject')).toMatch(/^Booking RL-[0-9A-Z]{6} confirmed$/);
    expect(mail.headers.get('to')).toBe(tenant.email);
    expect(received!.rcptTo).toEqual([tenant.email]);
    expect(mail.headers.get('message-id')).toBe(messageIdFor(`notification.${confirmation!.id}`, MAIL_FROM));
    expect(mail.text).toContain(`Hello ${hostileName},`);
    expect(mail.text).toContain('Your stay at Sunny room "near" the <Faculty> & library from');
    expect(mail.text).toContain('135.00 EUR');
    expect(mail.html).toContain('Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Zoë&#39; 🏠,');
    expect(mail.html).toContain('Sunny room &quot;near&quot; the &lt;Faculty&gt; &amp; library');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain(`href="${APP_URL}/bookings/${booking.bookingId}"`);
    const header = mail.headers.get('list-unsubscribe')!;
    expect(header).toMatch(/^<https:\/\/roomline\.test\/api\/notifications\/unsubscribe\?token=[^>]+>$/);
    expect(mail.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    unsubscribeUrl = header.slice(1, -1);
    // The landlord heard of the request; the tenant also of the payment due at check-in.
    await listed(landlord.headers, 'booking_requested');
    await listed(tenant.headers, 'payment_due');
    await waitFor('the request mail to the landlord', () => mailsTo(landlord.email).length > 0);
    expect(parseMail(mailsTo(landlord.email)[0]!.raw).text).toContain(`${hostileName} asks to stay at`);
  });

  it('reminds the tenant the day before check-in: one delayed job per booking, one reminder however often it fires', async () => {
    const queue = t.runtime.queues.notifications;
    const job = await waitFor('the reminder job', () => queue.getJob(reminderJobId(booking.bookingId)));
    const dayBefore = Date.parse(`${dayFromNow(59)}T00:00:00.000Z`);
    expect(job.timestamp + job.opts.delay!).toBeGreaterThanOrEqual(dayBefore - 60_000);
    expect(job.timestamp + job.opts.delay!).toBeLessThanOrEqual(dayBefore + 60_000);
    const data = job.data as ReminderJob;
    expect(data).toMatchObject({ bookingId: booking.bookingId, tenantId: tenant.id, checkIn: dayFromNow(60) });
    await job.promote();
    const [reminder] = await listed(tenant.headers, 'booking_reminder');
    expect(reminder!.id).toBe(notificationIdFor(data.sourceEventId, 'booking_reminder'));
    expect(reminder!.subject).toEqual({ bookingId: booking.bookingId });
    // The timer firing again (Redis redelivering it) raises nothing more.
    expect(await runBookingReminder({ store: t.runtime.eventStore }, data, t.runtime.clock.now())).toBe(true);
    let reminders = 0;
    for (const event of await notificationEventsOf(t.runtime.eventStore, tenant.id)) {
      if (event.type === 'NotificationRaised' && (event.data as { kind: string }).kind === 'booking_reminder')
        reminders++;
    }
    expect(reminders).toBe(1);
    await waitFor('the reminder mail', () =>
      mailsTo(tenant.email).find((m) => parseMail(m.raw).headers.get('subject')?.startsWith('Tomorrow: check-in at')),
    );
    expect((await listed(tenant.headers, 'booking_reminder')).length).toBe(1);
  });

  it('lists a person’s own notifications newest first, in pages; marks read once; another’s is not found', async () => {
    const all = await list(tenant.headers);
    expect(all.items.map((i) => i.kind)).toEqual(expect.arrayContaining(['booking_confirmed', 'payment_due']));
    const times = all.items.map((i) => i.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
    const first = await list(tenant.headers, '?limit=1');
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).not.toBeNull();
    const second = await list(tenant.headers, `?limit=1&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(second.items[0]!.id).not.toBe(first.items[0]!.id);
    // A cursor is bound to its list (and person): the landlord cannot page through the tenant's.
    const stolen = await t.app.inject({
      method: 'GET',
      url: `/api/notifications?cursor=${encodeURIComponent(first.nextCursor!)}`,
      headers: landlord.headers,
    });
    expect(stolen.statusCode).toBe(400);
    expect(stolen.json().error).toBe('INVALID_CURSOR');
    expect((await list(landlord.headers)).items.map((i) => i.kind)).toEqual(['booking_requested']);

    const target = all.items.find((i) => i.kind === 'payment_due')!;
    const read = (headers: Headers, id = target.id) =>
      t.app.inject({ method: 'POST', url: `/api/notifications/${id}/read`, headers });
    expect((await read(landlord.headers)).statusCode).toBe(404);
    expect((await read(t.as('admin'))).statusCode).toBe(404);
    expect((await read(tenant.headers, randomUUID())).statusCode).toBe(404);
    expect((await read(tenant.headers, 'not-a-uuid')).statusCode).toBe(400);
    expect((await read({})).statusCode).toBe(401);
    const done = await read(tenant.headers);
    expect(done.statusCode).toBe(204);
    expect((await read(tenant.headers)).statusCode).toBe(204);
    await waitFor('the read in the list', async () =>
      (await list(tenant.headers)).items.find((i) => i.id === target.id && i.readAt !== null),
    );
    let events = 0;
    for (const event of await notificationEventsOf(t.runtime.eventStore, tenant.id)) {
      if (event.type === 'NotificationRead') events++;
    }
    expect(events).toBe(1);
  });

  it('has preferences with defaults, validated on PUT, and honoured: email off means no mail, still listed', async () => {
    const other = await registered(t, 'tenant', 'Anna Verdi');
    const defaults = await preferences(other.headers);
    expect(defaults.statusCode).toBe(200);
    expect(defaults.json().kinds.booking_confirmed).toEqual({ email: true, sms: false, push: true });
    expect(Object.keys(defaults.json().kinds)).toHaveLength(10);
    for (const bad of [
      { kinds: { booking_teleported: { email: false } } },
      { kinds: { booking_confirmed: { fax: true } } },
      { kinds: { booking_confirmed: { email: 'no' } } },
      { kinds: [] },
      {},
    ]) {
      const refused = await preferences(other.headers, 'PUT', bad);
      expect(refused.statusCode, JSON.stringify(bad)).toBe(400);
      expect(refused.json()).toMatchObject({ error: 'VALIDATION_FAILED' });
    }
    const set = await preferences(other.headers, 'PUT', { kinds: { booking_confirmed: { email: false, sms: true } } });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json().kinds.booking_confirmed).toEqual({ email: false, sms: true, push: true });
    expect(set.json().kinds.payment_due).toEqual({ email: true, sms: false, push: true });
    expect((await preferences(other.headers)).json().kinds.booking_confirmed.email).toBe(false);
    expect((await preferences({})).statusCode).toBe(401);

    const b = await confirmedBooking(t, landlord, other);
    const [confirmation] = await listed(other.headers, 'booking_confirmed');
    const [due] = await listed(other.headers, 'payment_due');
    await waitFor('the payment-due mail', () =>
      mailsTo(other.email).find((m) => parseMail(m.raw).headers.get('subject')?.startsWith('Payment due')),
    );
    const job = await waitFor('the confirmation delivered', async () => {
      const jobs = await t.runtime.queues.notifications.getJobs(['completed']);
      return jobs.find((j) => (j.data as { notificationId?: string }).notificationId === confirmation!.id);
    });
    expect(job.returnvalue).toEqual({ sent: ['push', 'sms'] });
    expect(mailsTo(other.email).map((m) => parseMail(m.raw).headers.get('subject'))).not.toContain(
      expect.stringContaining('confirmed'),
    );
    expect(due!.subject).toEqual({ bookingId: b.bookingId });
  });

  it('sends an erased person nothing (the address is read at send time), though the notification is raised', async () => {
    const gone = await registered(t, 'tenant', 'Erased Person');
    const erased = await t.app.inject({
      method: 'DELETE',
      url: `/api/admin/users/${gone.id}/personal-data`,
      headers: t.as('admin'),
    });
    expect(erased.statusCode, erased.body).toBeLessThan(300);
    await waitFor('the erasure in the users read model', async () => {
      const { rows } = await t.runtime.pool.query('SELECT 1 FROM users WHERE id = $1 AND erased_at IS NOT NULL', [
        gone.id,
      ]);
      return rows.length === 1;
    });
    const sourceEventId = randomUUID();
    const now = t.runtime.clock.now().toISOString();
    await raiseNotification(
      { store: t.runtime.eventStore },
      { userId: gone.id, kind: 'payment_due', subject: { bookingId: randomUUID() }, sourceEventId, raisedAt: now },
      { correlationId: sourceEventId, causationId: null },
      now,
    );
    const id = notificationIdFor(sourceEventId, 'payment_due');
    const job = await waitFor('the delivery handled', async () => {
      const jobs = await t.runtime.queues.notifications.getJobs(['completed']);
      return jobs.find((j) => (j.data as { notificationId?: string }).notificationId === id);
    });
    expect(job.returnvalue).toEqual({ skipped: 'erased' });
    expect(mailsTo(gone.email)).toHaveLength(0);
  });

  it('unsubscribes one kind with the one-click POST of the mail’s link; a bad token is a 4xx, never a 500', async () => {
    const url = new URL(unsubscribeUrl);
    const click = await t.app.inject({
      method: 'POST',
      url: `${url.pathname}${url.search}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(click.statusCode, click.body).toBe(200);
    expect(click.json()).toEqual({ kind: 'booking_confirmed', email: false });
    const after = (await preferences(tenant.headers)).json().kinds;
    expect(after.booking_confirmed).toEqual({ email: false, sms: false, push: true });
    expect(after.payment_due.email).toBe(true);
    const again = await t.app.inject({ method: 'POST', url: `${url.pathname}${url.search}` });
    expect(again.statusCode).toBe(200);

    const token = url.searchParams.get('token')!;
    const [userId, kind, mac] = token.split('.');
    for (const bad of [
      `${userId}.payment_due.${mac}`,
      `${randomUUID()}.${kind}.${mac}`,
      `${userId}.${kind}.${mac!.slice(0, -2)}AA`,
      'nonsense',
      `${token}.extra`,
      `${userId}.<script>.${mac}`,
    ]) {
      const refused = await t.app.inject({
        method: 'POST',
        url: `/api/notifications/unsubscribe?token=${encodeURIComponent(bad)}`,
      });
      expect(refused.statusCode, bad).toBe(404);
      expect(refused.json().error).toBe('UNSUBSCRIBE_LINK_UNKNOWN');
    }
    for (const url of ['/api/notifications/unsubscribe', `/api/notifications/unsubscribe?token=${'a'.repeat(300)}`]) {
      const refused = await t.app.inject({ method: 'POST', url });
      expect(refused.statusCode, url).toBe(400);
      expect(refused.json()).toHaveProperty('error');
    }
  });

  it('shows support the jobs parked after their last attempt, and retries one', async () => {
    // A job no handler knows fails for good at once, as one would after its fifth attempt.
    const parked = await t.runtime.queues.notifications.add('no-such-job', { userId: tenant.id } as never, {
      jobId: `parked-${randomUUID()}`,
    });
    await waitFor('the job parked', async () => (await parked.getState()) === 'failed');
    for (const role of ['tenant', 'landlord', 'auditor'] as const) {
      const refused = await t.app.inject({ method: 'GET', url: '/api/ops/notifications/failed', headers: t.as(role) });
      expect(refused.statusCode, role).toBe(403);
    }
    for (const role of ['support', 'admin'] as const) {
      const shown = await t.app.inject({ method: 'GET', url: '/api/ops/notifications/failed', headers: t.as(role) });
      expect(shown.statusCode, role).toBe(200);
      const item = shown.json().items.find((i: { id: string }) => i.id === parked.id);
      expect(item).toMatchObject({ name: 'no-such-job', userId: tenant.id, attemptsMade: 1 });
      expect(item.error).toContain('unknown notification job');
    }
    const retry = (id: string, role: 'support' | 'tenant' = 'support') =>
      t.app.inject({ method: 'POST', url: `/api/ops/notifications/failed/${id}/retry`, headers: t.as(role) });
    expect((await retry(parked.id!, 'tenant')).statusCode).toBe(403);
    expect((await retry('no-such-id')).statusCode).toBe(404);
    expect((await retry('bad id!')).statusCode).toBe(400);
    const retried = await retry(parked.id!);
    expect(retried.statusCode, retried.body).toBe(202);
    await waitFor(
      'tried again',
      async () => (await t.runtime.queues.notifications.getJob(parked.id!))!.attemptsMade >= 2,
    );
  });

  it('mails an offline recipient one digest per conversation and window, none when read meanwhile or online', async () => {
    const context = (who: { id: string }, role: 'tenant' | 'landlord') => ({
      actorId: who.id,
      actorRole: role,
      now: t.runtime.clock.now().toISOString(),
    });
    const envelope = () => ({
      now: t.runtime.clock.now().toISOString(),
      newId: randomUUID,
      metadata: { correlationId: randomUUID(), causationId: null, actorId: null, actorRole: null, requestId: null },
    });
    const store = { store: t.runtime.eventStore };
    const talk = async (recipient: { id: string }, messages: number) => {
      const { conversationId } = await startConversation(
        store,
        { participantId: recipient.id, roomId: booking.roomId },
        context(landlord, 'landlord'),
        envelope(),
      );
      let last = '';
      let position = 0n;
      for (let i = 0; i < messages; i++) {
        last = randomUUID();
        ({ position } = (await sendMessage(
          store,
          { conversationId, messageId: last, body: `message ${i} <b>hi</b>` },
          context(landlord, 'landlord'),
          envelope(),
        )) as { position: bigint });
      }
      return { conversationId, last, position };
    };
    const digestOf = async (recipient: { id: string }, conversationId: string) =>
      waitFor('the digest job', async () => {
        const delayed = await t.runtime.queues.notifications.getJobs(['delayed', 'waiting', 'active', 'completed']);
        return delayed.find(
          (j) =>
            j.name === 'message-digest' &&
            (j.data as { conversationId: string; userId: string }).conversationId === conversationId &&
            (j.data as { userId: string }).userId === recipient.id,
        );
      });

    // Messages a few seconds before a window ends would fall in two windows: start just after a boundary then.
    const windowMs = 15 * 60_000;
    const intoWindow = t.runtime.clock.now().getTime() % windowMs;
    if (intoWindow > windowMs - 20_000)
      await new Promise((resolve) => setTimeout(resolve, windowMs - intoWindow + 500));
    const offline = await registered(t, 'tenant', 'Luca Neri');
    const chat = await talk(offline, 3);
    await listed(offline.headers, 'message_received', 3);
    const digest = await digestOf(offline, chat.conversationId);
    expect(digest.id).toBe(digestJobId(digest.data as never));
    expect(
      (await t.runtime.queues.notifications.getJobs(['delayed', 'waiting', 'active', 'completed'])).filter(
        (j) => j.name === 'message-digest' && (j.data as { userId: string }).userId === offline.id,
      ),
    ).toHaveLength(1);
    if (await digest.isDelayed()) await digest.promote();
    const [mail] = await waitFor('the digest mail', () => mailsTo(offline.email).length > 0 && mailsTo(offline.email));
    const parsed = parseMail(mail!.raw);
    expect(parsed.headers.get('subject')).toBe('3 new messages from Marco Bianchi');
    expect(parsed.text).toContain(`${APP_URL}/conversations/${chat.conversationId}`);
    expect(parsed.html).not.toContain('<b>hi</b>');
    expect(parsed.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');

    const reader = await registered(t, 'tenant', 'Sara Blu');
    const read = await talk(reader, 2);
    await listed(reader.headers, 'message_received', 2);
    const readDigest = await digestOf(reader, read.conversationId);
    await markRead(
      store,
      { conversationId: read.conversationId, upToMessageId: read.last },
      context(reader, 'tenant'),
      envelope(),
    );
    await waitFor('the message notifications read', async () =>
      (await list(reader.headers)).items.every((i) => i.kind !== 'message_received' || i.readAt !== null),
    );
    if (await readDigest.isDelayed()) await readDigest.promote();
    await waitFor('the digest skipped', async () => {
      const job = await t.runtime.queues.notifications.getJob(readDigest.id!);
      return job && (await job.getState()) === 'completed' && job;
    });
    expect((await t.runtime.queues.notifications.getJob(readDigest.id!))!.returnvalue).toEqual({
      skipped: 'read meanwhile',
    });

    // Someone online is shown the message by their feed: no notification is raised, so none is mailed either.
    const online = await registered(t, 'tenant', 'Paolo Gialli');
    await t.runtime.presence.socketOpened(online.id);
    try {
      const { position } = await talk(online, 1);
      await waitForCheckpoint(t.runtime.pool, { name: notificationProcessName, version: 1 }, position, 20_000);
      const raised = await notificationEventsOf(t.runtime.eventStore, online.id);
      expect(raised.filter((event) => (event.data as { kind?: string }).kind === 'message_received')).toEqual([]);
    } finally {
      await t.runtime.presence.socketClosed(online.id);
    }
    expect(mailsTo(online.email)).toHaveLength(0);
    expect(mailsTo(reader.email)).toHaveLength(0);
  }, 60_000);

  it('raises nothing twice and mails nobody twice when the process manager and the delivery replay from 0', async () => {
    const streams = [tenant.id, landlord.id];
    const countRaised = async () => {
      let count = 0;
      for (const id of streams) {
        for (const event of await notificationEventsOf(t.runtime.eventStore, id)) {
          if (event.type === 'NotificationRaised') count++;
        }
      }
      return count;
    };
    const before = await countRaised();
    const mailsBefore = smtp.received.length;
    expect(before).toBeGreaterThanOrEqual(3);
    const runner = t.runner!;
    await runner.stop();
    await t.runtime.pool.query('UPDATE projection_checkpoints SET position = 0 WHERE name = ANY($1)', [
      [notificationProcessName, notificationDeliveryName],
    ]);
    const again = new ProjectionRunner({
      orm: t.runtime.orm,
      store: t.runtime.eventStore,
      databaseUrl: t.db.url,
      projections: t.runtime.projections,
      logger: t.runtime.logger,
      standbyRetryMs: 200,
    });
    t.runner = again;
    await again.start();
    const head = await t.runtime.eventStore.headPosition();
    for (const name of [notificationProcessName, notificationDeliveryName]) {
      const projection = t.runtime.projections.find((p) => p.name === name)!;
      await waitForCheckpoint(t.runtime.pool, projection, head, 20_000);
    }
    expect(await countRaised()).toBe(before);
    expect(notificationIdFor(randomUUID(), 'booking_confirmed')).not.toBe(
      notificationIdFor(randomUUID(), 'booking_confirmed'),
    );
    // Whatever a replay queued would have gone out by now.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await t.runtime.queues.notifications.getJobCounts('waiting', 'active')).toEqual({ waiting: 0, active: 0 });
    expect(smtp.received.length).toBe(mailsBefore);
    const perMessageId = new Map<string, number>();
    for (const mail of smtp.received) {
      const id = parseMail(mail.raw).headers.get('message-id')!;
      perMessageId.set(id, (perMessageId.get(id) ?? 0) + 1);
    }
    expect([...perMessageId.values()].filter((n) => n > 1)).toEqual([]);
  }, 60_000);
});
