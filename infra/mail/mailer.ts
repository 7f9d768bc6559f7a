import { createHash } from 'node:crypto';

/** One outgoing mail. */
export interface MailMessage {
  /** One recipient address. */
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Extra headers, e.g. `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 8058). */
  headers?: Record<string, string>;
  /**
   * Names this mail once and for all (e.g. `booking-confirmed.<bookingId>`): the queue, the outbox and the
   * Message-ID are derived from it, so sending it again never produces a second mail. It appears in job ids
   * and logs, so it must not contain personal data (use ids, never addresses). At most 200 characters.
   */
  idempotencyKey: string;
}

/** The mail port: workers send through it and never see which transport is behind it (transports.ts). */
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
