import { createDecipheriv, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PersonalDataErased,
  PersonalDataUnreadable,
  PostgresPersonalDataVault,
} from '../../../infra/crypto/personalDataVault.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { testKeyEncryptionKey } from './builders.js';

let db: TestDatabase;
let kek: Buffer;
let vault: PostgresPersonalDataVault;

beforeAll(async () => {
  db = await createTestDatabase(10);
  kek = testKeyEncryptionKey();
  vault = new PostgresPersonalDataVault({ pool: db.pool, keyEncryptionKey: kek });
});
afterAll(async () => {
  await db?.drop();
});

/** Another process, as far as the vault can tell: its own pool and its own cache. */
function otherProcess(options: { now?: () => number; keyEncryptionKey?: Buffer } = {}) {
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  return {
    vault: new PostgresPersonalDataVault({ pool, keyEncryptionKey: options.keyEncryptionKey ?? kek, now: options.now }),
    end: () => pool.end(),
  };
}

/** db.pool, counting the queries made through it. */
function countingPool(): { pool: pg.Pool; queries: () => number } {
  let count = 0;
  const pool = new Proxy(db.pool, {
    get(target, property) {
      if (property === 'query') {
        return (...args: Parameters<pg.Pool['query']>) => {
          count++;
          return (target.query as (...a: unknown[]) => unknown)(...args);
        };
      }
      return Reflect.get(target, property, target);
    },
  });
  return { pool, queries: () => count };
}

async function keyRows(subjectId: string) {
  const { rows } = await db.pool.query<{ wrapped_key: Buffer | null; created_at: Date; destroyed_at: Date | null }>(
    'SELECT wrapped_key, created_at, destroyed_at FROM personal_data_keys WHERE subject_id = $1',
    [subjectId],
  );
  return rows;
}

/** Opens a sealed value by hand, following the documented formats (an independent check of them). */
function openByHand(wrapped: Buffer, subjectId: string, sealed: string): { dataKey: Buffer; plaintext: string } {
  expect(wrapped[0]).toBe(1);
  const unwrap = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(1, 13));
  unwrap.setAAD(Buffer.from(`personal-data-key:${subjectId}`));
  unwrap.setAuthTag(wrapped.subarray(13, 29));
  const dataKey = Buffer.concat([unwrap.update(wrapped.subarray(29)), unwrap.final()]);
  const [, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string];
  const open = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(iv, 'base64url'));
  open.setAAD(Buffer.from(subjectId));
  open.setAuthTag(Buffer.from(tag, 'base64url'));
  const plaintext = Buffer.concat([open.update(Buffer.from(ciphertext, 'base64url')), open.final()]).toString('utf8');
  return { dataKey, plaintext };
}

function reasonOf(error: unknown): string {
  expect(error).toBeInstanceOf(PersonalDataUnreadable);
  return (error as PersonalDataUnreadable).reason;
}

describe('PostgresPersonalDataVault', () => {
  it('seals a value for its subject and opens it again', async () => {
    const subject = randomUUID();
    for (const plaintext of ['giulia.rossi@example.org', 'Zoë Łukasiewicz-Ñúñez 😀', '']) {
      const sealed = await vault.encrypt(subject, plaintext);
      expect(sealed).toMatch(/^pd1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/);
      expect(await vault.decrypt(subject, sealed)).toBe(plaintext);
    }
    const twice = [await vault.encrypt(subject, 'same'), await vault.encrypt(subject, 'same')];
    expect(twice[0]).not.toBe(twice[1]);
  });

  it('takes the key-encryption key as base64 text, as the config holds it', async () => {
    const subject = randomUUID();
    const sealed = await vault.encrypt(subject, 'giulia.rossi@example.org');
    const fromText = new PostgresPersonalDataVault({ pool: db.pool, keyEncryptionKey: kek.toString('base64') });
    expect(await fromText.decrypt(subject, sealed)).toBe('giulia.rossi@example.org');
    expect(() => new PostgresPersonalDataVault({ pool: db.pool, keyEncryptionKey: 'too-short' })).toThrow(
      /DATA_ENCRYPTION_KEY: not base64/,
    );
  });

  it('treats subject ids case-insensitively and refuses ids that are not UUIDs', async () => {
    const subject = randomUUID();
    const sealed = await vault.encrypt(subject.toUpperCase(), 'giulia.rossi@example.org');
    expect(await vault.decrypt(subject, sealed)).toBe('giulia.rossi@example.org');
    await expect(vault.encrypt('giulia.rossi@example.org', 'x')).rejects.toThrow(RangeError);
  });

  it('stores one data key per subject, wrapped: the table never holds the key itself', async () => {
    const subject = randomUUID();
    const sealed = await vault.encrypt(subject, 'giulia.rossi@example.org');
    const [row, ...others] = await keyRows(subject);
    expect(others).toEqual([]);
    expect(row!.destroyed_at).toBeNull();
    const wrapped = row!.wrapped_key!;
    expect(wrapped).toHaveLength(1 + 12 + 16 + 32);
    const { dataKey, plaintext } = openByHand(wrapped, subject, sealed);
    expect(plaintext).toBe('giulia.rossi@example.org');
    expect(dataKey).toHaveLength(32);
    expect(wrapped.includes(dataKey)).toBe(false);
    expect(wrapped.toString('hex')).not.toContain(dataKey.toString('hex'));
  });

  it('makes one key when first encrypts of a subject race, in one process and across processes', async () => {
    const subject = randomUUID();
    const processes = [otherProcess(), otherProcess(), otherProcess()];
    try {
      const sealed = await Promise.all(
        processes.flatMap((p) => Array.from({ length: 8 }, (_, i) => p.vault.encrypt(subject, `value ${i}`))),
      );
      expect(await keyRows(subject)).toHaveLength(1);
      const reader = otherProcess();
      try {
        const opened = await Promise.all(sealed.map((value) => reader.vault.decrypt(subject, value)));
        expect(opened).toEqual(processes.flatMap(() => Array.from({ length: 8 }, (_, i) => `value ${i}`)));
      } finally {
        await reader.end();
      }
    } finally {
      await Promise.all(processes.map((p) => p.end()));
    }
  });

  it('reports a tampered value instead of opening it or calling it erased', async () => {
    const subject = randomUUID();
    const sealed = await vault.encrypt(subject, 'giulia.rossi@example.org');
    const [prefix, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string];
    const flip = (part: string) => {
      const bytes = Buffer.from(part, 'base64url');
      bytes[0]! ^= 1;
      return bytes.toString('base64url');
    };
    for (const tampered of [
      [prefix, flip(iv), ciphertext, tag],
      [prefix, iv, flip(ciphertext), tag],
      [prefix, iv, ciphertext, flip(tag)],
      [prefix, iv, ciphertext.slice(0, -2), tag],
    ]) {
      expect(reasonOf(await vault.decrypt(subject, tampered.join('.')).catch((e) => e))).toBe('authentication_failed');
    }
  });

  it('does not open a value for another subject (the subject is authenticated data)', async () => {
    const subject = randomUUID();
    const other = randomUUID();
    const sealed = await vault.encrypt(subject, 'giulia.rossi@example.org');
    await vault.encrypt(other, 'someone else');
    expect(reasonOf(await vault.decrypt(other, sealed).catch((e) => e))).toBe('authentication_failed');
    expect(reasonOf(await vault.decrypt(randomUUID(), sealed).catch((e) => e))).toBe('key_missing');
  });

  it('reports malformed values and plaintext', async () => {
    const subject = randomUUID();
    await vault.encrypt(subject, 'x');
    expect(reasonOf(await vault.decrypt(subject, 'pd1.abc').catch((e) => e))).toBe('malformed');
    expect(reasonOf(await vault.decrypt(subject, 'pd1.a.b.c').catch((e) => e))).toBe('malformed');
    expect(reasonOf(await vault.decrypt(subject, 'giulia.rossi@example.org').catch((e) => e))).toBe('not_sealed');
  });

  it('cannot unwrap the data keys with another key-encryption key', async () => {
    const subject = randomUUID();
    const sealed = await vault.encrypt(subject, 'giulia.rossi@example.org');
    const stranger = otherProcess({ keyEncryptionKey: testKeyEncryptionKey() });
    try {
      expect(reasonOf(await stranger.vault.decrypt(subject, sealed).catch((e) => e))).toBe('key_unwrap_failed');
    } finally {
      await stranger.end();
    }
  });

  describe('destroy', () => {
    it('erases: values read as null, the row keeps only the date, and no new key is ever made', async () => {
      const subject = randomUUID();
      const sealed = await vault.encrypt(subject, 'giulia.rossi@example.org');
      expect(await vault.isErased(subject)).toBe(false);

      await vault.destroy(subject);

      expect(await vault.decrypt(subject, sealed)).toBeNull();
      expect(await vault.isErased(subject)).toBe(true);
      const [row, ...others] = await keyRows(subject);
      expect(others).toEqual([]);
      expect(row!.wrapped_key).toBeNull();
      expect(row!.destroyed_at).toBeInstanceOf(Date);
      const error = await vault.encrypt(subject, 'again@example.org').catch((e) => e);
      expect(error).toBeInstanceOf(PersonalDataErased);
      expect(error.subjectId).toBe(subject);

      const later = otherProcess();
      try {
        expect(await later.vault.decrypt(subject, sealed)).toBeNull();
        expect(await later.vault.encrypt(subject, 'again@example.org').catch((e) => e)).toBeInstanceOf(
          PersonalDataErased,
        );
      } finally {
        await later.end();
      }
      expect(await keyRows(subject)).toHaveLength(1);
    });

    it('is idempotent and keeps the first erasure date', async () => {
      const subject = randomUUID();
      await vault.encrypt(subject, 'x');
      await vault.destroy(subject);
      const [first] = await keyRows(subject);
      await vault.destroy(subject);
      const [second] = await keyRows(subject);
      expect(second!.destroyed_at).toEqual(first!.destroyed_at);
    });

    it('records the erasure of a subject that had no key yet, so none is made later', async () => {
      const subject = randomUUID();
      expect(await vault.isErased(subject)).toBe(false);
      await vault.destroy(subject);
      expect(await vault.isErased(subject)).toBe(true);
      expect(await vault.encrypt(subject, 'x').catch((e) => e)).toBeInstanceOf(PersonalDataErased);
      const [row] = await keyRows(subject);
      expect(row).toMatchObject({ wrapped_key: null });
      expect(row!.destroyed_at).toBeInstanceOf(Date);
    });

    it('another process reads with its cached key until the cache TTL (60 s) has passed, not longer', async () => {
      let now = Date.now();
      const other = otherProcess({ now: () => now });
      try {
        const subject = randomUUID();
        const sealed = await vault.encrypt(subject, 'giulia.rossi@example.org');
        expect(await other.vault.decrypt(subject, sealed)).toBe('giulia.rossi@example.org');

        await vault.destroy(subject);

        now += 59_000;
        expect(await other.vault.decrypt(subject, sealed)).toBe('giulia.rossi@example.org');
        now += 1_001;
        expect(await other.vault.decrypt(subject, sealed)).toBeNull();
      } finally {
        await other.end();
      }
    });
  });

  it('keeps at most cacheSize keys in memory, the least recently used going first', async () => {
    const { pool, queries } = countingPool();
    const small = new PostgresPersonalDataVault({ pool, keyEncryptionKey: kek, cacheSize: 2 });
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const sealedA = await small.encrypt(a, 'a');
    const sealedB = await small.encrypt(b, 'b');
    await small.decrypt(a, sealedA);
    const sealedC = await small.encrypt(c, 'c'); // evicts b, the least recently used

    const before = queries();
    expect(await small.decrypt(a, sealedA)).toBe('a');
    expect(await small.decrypt(c, sealedC)).toBe('c');
    expect(queries()).toBe(before);
    expect(await small.decrypt(b, sealedB)).toBe('b');
    expect(queries()).toBe(before + 1);
  });
});
