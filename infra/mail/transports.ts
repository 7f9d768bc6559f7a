import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../config/config.js';
import { idempotencyToken, type Mailer, type MailMessage, messageIdFor } from './mailer.js';

/** The mail transports behind the Mailer port (mailer.ts); only the composition root and tests import them. */

function mailOptions(message: MailMessage, from: string) {
  return {
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    ...(message.html === undefined ? {} : { html: message.html }),
    ...(message.headers === undefined ? {} : { headers: message.headers }),
    messageId: messageIdFor(message.idempotencyKey, from),
  };
}

/** Sends through an SMTP relay (`smtp://` or `smtps://` URL, credentials in the URL) with a small connection pool. */
export function createSmtpMailer(smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: 5,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(message) {
      idempotencyToken(message.idempotencyKey);
      const info = await transport.sendMail(mailOptions(message, from));
      return { messageId: info.messageId };
    },
    async close() {
      transport.close();
    },
  };
}

/**
 * Writes each mail as an RFC 822 `.eml` file into `dir`, named after its idempotency key: sending the same mail
 * again replaces the file instead of adding one. The file appears whole (written aside, then renamed).
 */
export function createFileOutboxMailer(dir: string, from: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  let ready: Promise<unknown> | undefined;
  return {
    async send(message) {
      const file = join(dir, `${idempotencyToken(message.idempotencyKey)}.eml`);
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      const info = await transport.sendMail(mailOptions(message, from));
      const raw = info.message;
      if (!Buffer.isBuffer(raw)) throw new Error('stream transport did not return a buffer');
      const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, raw);
        await rename(temporary, file);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      return { messageId: info.messageId };
    },
    async close() {
      transport.close();
    },
  };
}

/** SMTP when SMTP_URL is set, otherwise the file outbox `<DATA_DIR>/outbox/`. */
export function createMailer(config: Pick<Config, 'SMTP_URL' | 'MAIL_FROM' | 'DATA_DIR'>): Mailer {
  return config.SMTP_URL
    ? createSmtpMailer(config.SMTP_URL, config.MAIL_FROM)
    : createFileOutboxMailer(join(config.DATA_DIR, 'outbox'), config.MAIL_FROM);
}
