import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../infra/config/config.js';
import { parseDataEncryptionKey } from '../../../infra/crypto/dataEncryptionKey.js';
import { deriveKey } from '../../../infra/crypto/derivedKeys.js';
import { TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../../support/app.js';

function problemsWith(value: string | undefined): string[] {
  try {
    loadConfig({ JWT_SECRET: TEST_JWT_SECRET, DATA_ENCRYPTION_KEY: value });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
}

describe('DATA_ENCRYPTION_KEY', () => {
  it('is required', () => {
    expect(problemsWith(undefined)).toEqual([
      expect.stringMatching(/^DATA_ENCRYPTION_KEY: Expected required property/),
    ]);
  });

  it('takes base64 of exactly 32 bytes', () => {
    const key = randomBytes(32).toString('base64');
    expect(problemsWith(key)).toEqual([]);
    expect(loadConfig({ JWT_SECRET: TEST_JWT_SECRET, DATA_ENCRYPTION_KEY: key }).DATA_ENCRYPTION_KEY).toBe(key);
    expect(parseDataEncryptionKey(TEST_DATA_ENCRYPTION_KEY)).toEqual(Buffer.from('roomline-test-only-data-key-0001'));
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64'), /decodes to 16 bytes/],
    ['33 bytes', randomBytes(33).toString('base64'), /decodes to 33 bytes/],
    ['base64url', Buffer.alloc(32, 0xfb).toString('base64url'), /not base64/],
    ['hex', randomBytes(32).toString('hex'), /decodes to 48 bytes/],
    ['a passphrase', 'correct horse battery staple', /not base64/],
  ])('refuses %s with a clear message that does not repeat the value', (_name, value, reason) => {
    const problems = problemsWith(value);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^DATA_ENCRYPTION_KEY="\*\*\*": /);
    expect(problems[0]).toMatch(reason);
    expect(problems[0]).toContain('openssl rand -base64 32');
    expect(problems[0]).not.toContain(value);
  });
});

describe('deriveKey', () => {
  it('derives one stable 32-byte key per purpose, none equal to the key-encryption key', () => {
    const kek = randomBytes(32);
    const reservations = deriveKey(kek, 'reservation-names');
    expect(reservations).toHaveLength(32);
    expect(deriveKey(kek.toString('base64'), 'reservation-names')).toEqual(reservations);
    expect(deriveKey(kek, 'something-else')).not.toEqual(reservations);
    expect(deriveKey(randomBytes(32), 'reservation-names')).not.toEqual(reservations);
    expect(reservations).not.toEqual(kek);
    expect(() => deriveKey(kek, 'Reservation names')).toThrow(RangeError);
  });
});
