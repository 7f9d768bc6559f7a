import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import type { MailMessage } from '../../infra/mail/mailer.js';

export { deleteRedisKeys, REDIS_URL } from '../support/redis.js';
export const MAIL_FROM = 'Roomline <no-reply@roomline.test>';

/** A BullMQ key prefix of this run alone, so parallel test files and runs never share a queue. */
export function uniquePrefix(): string {
  return `rl-test-${randomBytes(5).toString('hex')}`;
}

/** Polls until the check returns something other than undefined or false, for at most timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Test mail, with a non-ASCII subject and body so the encodings are exercised. */
export function aMail(overrides: Partial<MailMessage> = {}): MailMessage {
  const id = randomBytes(4).toString('hex');
  return {
    to: `guest.${id}@students.example.org`,
    subject: `Booking ${id} confirmed: Bologna, 3 nights ✓`,
    text: `Hello Anna,\nyour room near the Faculty of Law is booked. Grüße aus Bologna!\nReference ${id}`,
    idempotencyKey: `booking-confirmed:${id}`,
    ...overrides,
  };
}

export interface ReceivedMail {
  mailFrom: string | undefined;
  rcptTo: string[];
  raw: string;
}

export interface TestSmtpServer {
  url: string;
  received: ReceivedMail[];
  close(): Promise<void>;
}

/**
 * A real SMTP server on a random loopback port: no TLS, no authentication. Recipients in `refusedDomain` are
 * refused with a permanent 550, as a relay refuses an unknown mailbox.
 */
export async function startSmtpServer(refusedDomain = 'refused.example.org'): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.endsWith(`@${refusedDomain}`)) {
        return callback(
          Object.assign(new Error(`<${address.address}>: Recipient address rejected`), { responseCode: 550 }),
        );
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom;
        received.push({
          mailFrom: mailFrom ? mailFrom.address : undefined,
          rcptTo: session.envelope.rcptTo.map((a) => a.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5_000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/** A pino logger whose JSON lines are kept, to check what the code logs. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export interface ParsedMail {
  headers: Map<string, string>;
  text?: string;
  html?: string;
}

/**
 * A small RFC 5322/MIME reader, enough for what nodemailer writes: unfolded headers with encoded words decoded,
 * and the text and html parts (multipart/alternative or single part; 7bit, 8bit, quoted-printable, base64).
 */
export function parseMail(raw: string): ParsedMail {
  const { headers, body } = splitEntity(raw);
  const parsed: ParsedMail = { headers };
  collectParts(headers, body, parsed);
  return parsed;
}

function splitEntity(raw: string): { headers: Map<string, string>; body: string } {
  const match = /\r?\n\r?\n/.exec(raw);
  const head = match ? raw.slice(0, match.index) : raw;
  const body = match ? raw.slice(match.index + match[0].length) : '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line)}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  return { headers, body };
}

function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_all, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const input = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < input.length; i++) {
    if (input[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(input.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(input.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(input[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function parameter(header: string | undefined, name: string): string | undefined {
  return new RegExp(`;\\s*${name}="?([^";]+)"?`, 'i').exec(header ?? '')?.[1];
}

function collectParts(headers: Map<string, string>, body: string, into: ParsedMail): void {
  const type = (headers.get('content-type') ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = parameter(headers.get('content-type'), 'boundary');
    if (!boundary) throw new Error('multipart without boundary');
    const sections = body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      const part = splitEntity(section.replace(/^\r?\n/, ''));
      collectParts(part.headers, part.body.replace(/\r?\n$/, ''), into);
    }
    return;
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const decoded =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
      : encoding === 'quoted-printable'
        ? decodeQuotedPrintable(body)
        : body;
  const content = decoded.replace(/\r\n/g, '\n').replace(/\n$/, '');
  if (type === 'text/plain') into.text = content;
  if (type === 'text/html') into.html = content;
}
