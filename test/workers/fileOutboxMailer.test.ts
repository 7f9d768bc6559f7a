import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyToken, type Mailer, messageIdFor } from '../../infra/mail/mailer.js';
import { createFileOutboxMailer, createMailer } from '../../infra/mail/transports.js';
import { aMail, MAIL_FROM, parseMail } from './support.js';

describe('file outbox mailer', () => {
  let dir: string;
  let mailer: Mailer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rl-outbox-'));
    mailer = createFileOutboxMailer(join(dir, 'outbox'), MAIL_FROM);
  });

  afterAll(async () => {
    await mailer?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes one parseable .eml file named after the idempotency key', async () => {
    const mail = aMail({ html: '<p>Grüße aus <b>Bologna</b></p>' });

    const { messageId } = await mailer.send(mail);

    const file = join(dir, 'outbox', `${idempotencyToken(mail.idempotencyKey)}.eml`);
    const raw = await readFile(file, 'utf8');
    expect(raw).toMatch(/\r\n\r\n/);
    const parsed = parseMail(raw);
    expect(parsed.headers.get('from')).toBe(MAIL_FROM);
    expect(parsed.headers.get('to')).toBe(mail.to);
    expect(parsed.headers.get('subject')).toBe(mail.subject);
    expect(parsed.headers.get('message-id')).toBe(messageId);
    expect(messageId).toBe(messageIdFor(mail.idempotencyKey, MAIL_FROM));
    expect(parsed.headers.get('mime-version')).toBe('1.0');
    expect(parsed.text).toBe(mail.text);
    expect(parsed.html).toBe(mail.html);
  });

  it('overwrites the file when the same mail is sent again, leaving no temporary file', async () => {
    const mail = aMail();
    await mailer.send(mail);
    const before = await readdir(join(dir, 'outbox'));

    await mailer.send({ ...mail, subject: 'Resent' });

    const after = await readdir(join(dir, 'outbox'));
    expect(after).toEqual(before);
    expect(after.every((name) => name.endsWith('.eml'))).toBe(true);
    const raw = await readFile(join(dir, 'outbox', `${idempotencyToken(mail.idempotencyKey)}.eml`), 'utf8');
    expect(parseMail(raw).headers.get('subject')).toBe('Resent');
  });

  it('keeps a key with slashes and dots inside the outbox directory', async () => {
    const mail = aMail({ idempotencyKey: '../../escape/attempt' });

    await mailer.send(mail);

    expect(await readdir(join(dir, 'outbox'))).toContain('..%2F..%2Fescape%2Fattempt.eml');
    expect(await readdir(dir)).toEqual(['outbox']);
  });

  it('refuses an empty or overlong idempotency key', async () => {
    await expect(mailer.send(aMail({ idempotencyKey: '' }))).rejects.toThrow(RangeError);
    await expect(mailer.send(aMail({ idempotencyKey: 'k'.repeat(201) }))).rejects.toThrow(RangeError);
  });

  it('is what createMailer builds when SMTP_URL is unset: files under DATA_DIR/outbox', async () => {
    const dataDir = join(dir, 'data');
    const fromConfig = createMailer({ SMTP_URL: undefined, MAIL_FROM, DATA_DIR: dataDir });
    const mail = aMail();

    await fromConfig.send(mail);
    await fromConfig.close();

    expect(await readdir(join(dataDir, 'outbox'))).toEqual([`${idempotencyToken(mail.idempotencyKey)}.eml`]);
  });
});
