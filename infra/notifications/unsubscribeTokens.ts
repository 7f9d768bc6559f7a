import { createHmac, timingSafeEqual } from 'node:crypto';
import { type NotificationKind, NotificationKinds } from '../../domain/notifications/events.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAC_BYTES = 16;

/**
 * One-click unsubscribe tokens (RFC 8058): `<userId>.<kind>.<HMAC>` under a key of their own (derived from
 * DATA_ENCRYPTION_KEY), so a link turns off exactly one kind's email for one person and cannot be forged.
 */
export function unsubscribeTokens(key: Buffer) {
  const mac = (userId: string, kind: string) =>
    createHmac('sha256', key).update(`${userId}\n${kind}`).digest().subarray(0, MAC_BYTES);
  return {
    sign(userId: string, kind: NotificationKind): string {
      return `${userId}.${kind}.${mac(userId, kind).toString('base64url')}`;
    },
    /** The person and kind a token names, or null for anything this app did not sign. */
    verify(token: string): { userId: string; kind: NotificationKind } | null {
      if (token.length > 200) return null;
      const [userId = '', kind = '', signature = '', ...rest] = token.split('.');
      if (rest.length > 0 || !UUID.test(userId) || !(NotificationKinds as readonly string[]).includes(kind))
        return null;
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(userId, kind);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      return { userId, kind: kind as NotificationKind };
    },
  };
}

export type UnsubscribeTokens = ReturnType<typeof unsubscribeTokens>;
