import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mailer, type MailMessage, messageIdFor } from '../../infra/mail/mailer.js';
import { createMailer } from '../../infra/mail/transports.js';
import {
  createQueue,
  enqueueMail,
  type MailJob,
  mailJobId,
  QueueNames,
  queueConnection,
} from '../../infra/queues/queues.js';
import { createMailWorker } from '../../workers/mailWorker.js';
import {
  aMail,
  capturingLogger,
  deleteRedisKeys,
  MAIL_FROM,
  parseMail,
  REDIS_URL,
  startSmtpServer,
  type TestSmtpServer,
  uniquePrefix,
  waitFor,
} from './support.js';

describe('mail worker: queued mail delivered over SMTP', () => {
  const prefix = uniquePrefix();
  const at = queueConnection(REDIS_URL, prefix);
  const { logger, lines } = capturingLogger();
  const sent: MailMessage[] = [];
  let smtp: TestSmtpServer;
  let dataDir: string;
  let mailer: Mailer;
  let queue: Queue<MailJob>;
  let worker: ReturnType<typeof createMailWorker>;
  /** The users read model as the worker sees it: an address, or null once erased. */
  const addresses = new Map<string, string | null>();

  const deliveredTo = (mail: MailMessage) => smtp.received.filter((m) => m.rcptTo.includes(mail.to));
  const enqueue = async (mail: MailMessage) => {
    sent.push(mail);
    return enqueueMail(queue, mail);
  };

  beforeAll(async () => {
    smtp = await startSmtpServer('refused.example.org');
    dataDir = await mkdtemp(join(tmpdir(), 'rl-mail-'));
    mailer = createMailer({ SMTP_URL: smtp.url, MAIL_FROM, DATA_DIR: dataDir });
    queue = createQueue<MailJob>(QueueNames.mail, at);
    // One at a time, so jobs finish in the order they were queued.
    worker = createMailWorker({ at, mailer, logger, concurrency: 1, addressOf: async (id) => addresses.get(id) });
    await worker.waitUntilReady();
  });

  afterAll(async () => {
    await worker?.close();
    await queue?.obliterate({ force: true });
    await queue?.close();
    await mailer?.close();
    await smtp?.close();
    await deleteRedisKeys(prefix);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('looks up the address of a mail queued for a person when it sends, and writes to no one erased', async () => {
    const known = aMail();
    addresses.set('user-known', known.to);
    addresses.set('user-erased', null);
    const { to: _to, ...toKnown } = known;
    const forKnown = await enqueueMail(queue, { ...toKnown, toUserId: 'user-known' });
    const forErased = await enqueueMail(queue, { ...aMail(), to: undefined, toUserId: 'user-erased' });
    const [received] = await waitFor(
      'the mail at the SMTP server',
      () => deliveredTo(known).length > 0 && deliveredTo(known),
    );
    expect(received!.rcptTo).toEqual([known.to]);
    const queued = await queue.getJob(forKnown.jobId);
    expect(JSON.stringify(queued!.data)).not.toContain('@');
    const erasedJob = await queue.getJob(forErased.jobId);
    await waitFor('the erased one finished', async () => (await erasedJob!.getState()) === 'completed');
    expect((await queue.getJob(forErased.jobId))!.returnvalue).toEqual({ skipped: 'no address' });
  });

  it('delivers a queued mail with its recipient, subject, text and html', async () => {
    const mail = aMail({ html: '<p>Your room is <b>booked</b>.</p>' });

    const { jobId } = await enqueue(mail);

    const [received] = await waitFor(
      'the mail at the SMTP server',
      () => deliveredTo(mail).length > 0 && deliveredTo(mail),
    );
    expect(jobId).toBe(mailJobId(mail.idempotencyKey));
    expect(received!.rcptTo).toEqual([mail.to]);
    expect(received!.mailFrom).toBe('no-reply@roomline.test');
    const parsed = parseMail(received!.raw);
    expect(parsed.headers.get('subject')).toBe(mail.subject);
    expect(parsed.headers.get('to')).toBe(mail.to);
    expect(parsed.headers.get('from')).toBe(MAIL_FROM);
    expect(parsed.headers.get('message-id')).toBe(messageIdFor(mail.idempotencyKey, MAIL_FROM));
    expect(parsed.text).toBe(mail.text);
    expect(parsed.html).toBe(mail.html);
    const job = await queue.getJob(jobId);
    expect(await waitFor('the job completed', async () => (await job!.getState()) === 'completed')).toBe(true);
  });

  it('delivers a mail once when its idempotency key is queued again, before and after it was sent', async () => {
    const mail = aMail();
    const first = await enqueue(mail);
    const second = await enqueue({ ...mail, subject: 'a second copy that must not go out' });
    expect(second.jobId).toBe(first.jobId);
    await waitFor('the first delivery', () => deliveredTo(mail).length > 0);

    await enqueue(mail);
    // Queued after the repeat, and the worker takes one job at a time in order: once it has arrived, the
    // repeat would have arrived before it.
    const sentinel = aMail();
    const queuedSentinel = await enqueue(sentinel);
    await waitFor('the sentinel mail', () => deliveredTo(sentinel).length > 0);
    // The SMTP server has the mail a moment before the worker marks its job completed.
    const sentinelJob = await queue.getJob(queuedSentinel.jobId);
    await waitFor('the sentinel job completed', async () => (await sentinelJob!.getState()) === 'completed');

    expect(deliveredTo(mail)).toHaveLength(1);
    expect(parseMail(deliveredTo(mail)[0]!.raw).headers.get('subject')).toBe(mail.subject);
    expect(await queue.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 0 });
  });

  it('does not retry a mail the relay refuses for good', async () => {
    const mail = aMail({ to: 'nobody@refused.example.org' });

    const { jobId } = await enqueue(mail);

    // The state is read after the job's fields: a job read just before the worker failed it still shows
    // no attempt, so the job is read again once its state says failed.
    await waitFor('the job to fail', async () => (await queue.getJobState(jobId)) === 'failed');
    const job = (await queue.getJob(jobId))!;
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain('550');
    expect(job.failedReason).not.toContain('nobody@');
    expect(deliveredTo(mail)).toHaveLength(0);
  });

  it('logs job ids and recipient domains, never addresses, subjects or bodies', async () => {
    await waitFor('the refusal logged', () => lines.some((l) => l.includes('mail not sent')));
    const log = lines.join('\n');
    expect(log).toContain('"toDomain":"students.example.org"');
    expect(log).toContain('"toDomain":"refused.example.org"');
    for (const mail of sent) {
      expect(log).toContain(mailJobId(mail.idempotencyKey));
      expect(log).not.toContain(mail.to);
      expect(log).not.toContain(mail.to.split('@')[0]);
      expect(log).not.toContain(mail.subject);
      expect(log).not.toContain(mail.text.split('\n')[0]);
    }
  });
});
