import { hkdfSync } from 'node:crypto';
import { parseDataEncryptionKey } from './dataEncryptionKey.js';

/**
 * A 32-byte key for one purpose, derived (HKDF-SHA256) from DATA_ENCRYPTION_KEY, so that one secret
 * serves several uses without any two sharing a key. For example the HMAC key that names reservation
 * streams (`UserEmail-<HMAC of the normalised email>`): every process derives the same one, and a
 * stream name reveals no email to anyone without the key. Replacing DATA_ENCRYPTION_KEY changes every
 * derived key (see docs/decisions/0006-crypto-shredding.md).
 */
export function deriveKey(keyEncryptionKey: Buffer | string, purpose: string): Buffer {
  if (!/^[a-z][a-z0-9-]*$/.test(purpose)) {
    throw new RangeError(`a key purpose is a lower-case word (a-z, 0-9, -), got ${JSON.stringify(purpose)}`);
  }
  const kek = typeof keyEncryptionKey === 'string' ? parseDataEncryptionKey(keyEncryptionKey) : keyEncryptionKey;
  return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), `roomline ${purpose}`, 32));
}
