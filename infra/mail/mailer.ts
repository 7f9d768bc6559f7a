import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../config/config.js';

/** One outgoing mail. */
export interface MailMessage {
  /** One recipient address. */
  to: string;
  subject: string;
  text: string;
  html?: string;
  /**
   * Names this mail once and for all (e.g. `booking-confirmed.<bookingId>`): the queue, the outbox and the
   * Message-ID are derived from it, so sending it again never produces a second mail. It appears in job ids
   * and logs, so it must not contain personal data (use ids, never addresses). At most 200 characters.
   */
  idempotencyKey: string;
}

/** The mail port: workers send through it and never see which transport is behind it. */
export interface Mailer {
  send(message: MailMessage): Promise<{ messageId: string }>;
  /** Releases connections; in-flight sends are not waited for. */
  close(): Promise<void>;
}

const MAX_TOKEN_LENGTH = 200;

/**
 * The idempotency key as a string safe for file names and BullMQ job ids (no `/`, no `:`), and injective:
 * two different keys never share a token. Throws on an empty or overlong key.
 */
export function idempotencyToken(idempotencyKey: string): string {
  const token = encodeURIComponent(idempotencyKey);
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new RangeError(`mail idempotencyKey must be 1 to ${MAX_TOKEN_LENGTH} URL-safe characters`);
  }
  return token;
}

/** The domain of an address (`Name <a@b.c>` or `a@b.c`), the most of an address that may appear in logs. */
export function addressDomain(address: string): string | undefined {
  return /@([^\s<>@]+?)>?\s*$/.exec(address)?.[1]?.toLowerCase();
}

/**
 * A Message-ID that depends only on the idempotency key: a mail sent twice (a retry after the relay accepted
 * it but the connection dropped) carries the same Message-ID, so receiving systems can drop the copy.
 */
export function messageIdFor(idempotencyKey: string, from: string): string {
  const hash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40);
  return `<${hash}@${addressDomain(from) ?? 'roomline.local'}>`;
}

function mailOptions(message: MailMessage, from: string) {
  return {
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    ...(message.html === undefined ? {} : { html: message.html }),
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
