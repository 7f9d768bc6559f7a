import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { LruCache } from '../../domain/shared/lruCache.js';
import { parseDataEncryptionKey } from './dataEncryptionKey.js';

/**
 * Encrypts personal data with one key per person (the subject), so that destroying that key erases
 * the person's data everywhere it was stored encrypted: crypto-shredding
 * (docs/decisions/0006-crypto-shredding.md).
 *
 * Sealed values are text: `pd1.<iv>.<ciphertext>.<tag>` (base64url, AES-256-GCM, a random 96-bit IV
 * per value, the subject id as additional authenticated data), so they fit in JSON event data.
 */
export interface PersonalDataVault {
  /**
   * Seals `plaintext` with the subject's data key, creating the key on the subject's first use.
   * Throws `PersonalDataErased` when the subject's key was destroyed: erasure is final.
   */
  encrypt(subjectId: string, plaintext: string): Promise<string>;
  /**
   * Opens a value sealed by `encrypt` for the same subject; null when the subject's key was destroyed.
   * Throws `PersonalDataUnreadable` when the value is malformed, tampered with, sealed for another
   * subject, or its key is missing: such values are reported, never passed off as erased.
   */
  decrypt(subjectId: string, sealed: string): Promise<string | null>;
  /**
   * Destroys the subject's data key (idempotent; also for a subject that has none yet, so none is
   * ever made). Other processes may keep a cached key until its TTL expires.
   */
  destroy(subjectId: string): Promise<void>;
  /** Whether the subject's data key was destroyed. */
  isErased(subjectId: string): Promise<boolean>;
}

/** Appending personal data for a person whose data was erased. */
export class PersonalDataErased extends Error {
  readonly kind = 'PersonalDataErased' as const;
  constructor(readonly subjectId: string) {
    super(`personal data of subject ${subjectId} was erased; no new personal data is recorded for it`);
    this.name = 'PersonalDataErased';
  }
}

export type PersonalDataUnreadableReason =
  /** Not in the `pd1.` format. */
  | 'malformed'
  /** A plain string where a sealed value belongs. */
  | 'not_sealed'
  /** Tampered with, or sealed for another subject. */
  | 'authentication_failed'
  /** No key row for the subject: the value was sealed elsewhere or the keys table lost a row. */
  | 'key_missing'
  /** The wrapped key does not open with DATA_ENCRYPTION_KEY (a different key, or a tampered row). */
  | 'key_unwrap_failed';

/** Where an unreadable value was found (filled in by the store decorator). */
export interface PersonalDataLocation {
  streamId: string;
  eventId: string;
  type: string;
  field: string;
}

/** A sealed value that cannot be opened although its key exists (or should exist). */
export class PersonalDataUnreadable extends Error {
  readonly kind = 'PersonalDataUnreadable' as const;
  constructor(
    readonly subjectId: string,
    readonly reason: PersonalDataUnreadableReason,
    readonly location?: PersonalDataLocation,
  ) {
    const where = location
      ? ` in ${location.type} ${location.eventId} (stream ${location.streamId}), field ${location.field}`
      : '';
    super(`personal data of subject ${subjectId} cannot be read${where}: ${describeReason(reason)}`);
    this.name = 'PersonalDataUnreadable';
  }
}

function describeReason(reason: PersonalDataUnreadableReason): string {
  switch (reason) {
    case 'malformed':
      return 'not a sealed value (expected pd1.<iv>.<ciphertext>.<tag>)';
    case 'not_sealed':
      return 'plaintext where a sealed value belongs';
    case 'authentication_failed':
      return 'authentication failed (tampered with, or sealed for another subject)';
    case 'key_missing':
      return 'no data key exists for the subject';
    case 'key_unwrap_failed':
      return 'the data key does not unwrap with DATA_ENCRYPTION_KEY';
    default: {
      const unhandled: never = reason;
      return String(unhandled);
    }
  }
}

const PREFIX = 'pd1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const WRAP_VERSION = 1;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a string has the shape of a sealed value (says nothing about whether it opens). */
export function isSealed(value: string): boolean {
  return value.startsWith(`${PREFIX}.`);
}

export interface PostgresPersonalDataVaultOptions {
  /** Pool for the `personal_data_keys` table (migration 0002); not ended by the vault. */
  pool: pg.Pool;
  /** DATA_ENCRYPTION_KEY: 32 bytes, or their base64 as in the config. */
  keyEncryptionKey: Buffer | string;
  /** Most data keys held in memory (least recently used go first; default 10,000). */
  cacheSize?: number;
  /** How long a data key stays cached (default 60 s): the longest another process may still read after an erasure. */
  cacheTtlMs?: number;
  /** Clock for the cache TTL (tests). */
  now?: () => number;
}

type CachedKey = { state: 'active'; key: Buffer; expiresAt: number } | { state: 'destroyed' };
type KeyState = { state: 'active'; key: Buffer } | { state: 'destroyed' } | { state: 'absent' };

interface KeyRow {
  wrapped_key: Buffer | null;
  destroyed_at: Date | null;
}

/**
 * The vault on PostgreSQL: data keys in `personal_data_keys`, wrapped (AES-256-GCM) with the
 * key-encryption key, bound to their subject. Keys are cached in memory in a bounded LRU with a short
 * TTL; `destroy` clears this process's cache at once, other processes hold a cached key at most
 * `cacheTtlMs` longer (a destroyed state, being final, is cached without expiry).
 */
export class PostgresPersonalDataVault implements PersonalDataVault {
  private readonly pool: pg.Pool;
  private readonly kek: Buffer;
  private readonly cache: LruCache<string, CachedKey>;
  private readonly cacheTtlMs: number;
  private readonly now: () => number;
  private readonly loading = new Map<string, Promise<KeyState>>();

  constructor(options: PostgresPersonalDataVaultOptions) {
    this.pool = options.pool;
    this.kek =
      typeof options.keyEncryptionKey === 'string'
        ? parseDataEncryptionKey(options.keyEncryptionKey)
        : Buffer.from(options.keyEncryptionKey);
    if (this.kek.length !== KEY_BYTES) throw new RangeError(`the key-encryption key must be ${KEY_BYTES} bytes`);
    this.cache = new LruCache(options.cacheSize ?? 10_000);
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  async encrypt(subjectId: string, plaintext: string): Promise<string> {
    const subject = normaliseSubject(subjectId);
    const key = await this.keyState(subject, true);
    if (key.state !== 'active') throw new PersonalDataErased(subject);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(subject, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [PREFIX, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
  }

  async decrypt(subjectId: string, sealed: string): Promise<string | null> {
    const subject = normaliseSubject(subjectId);
    const parts = parseSealed(sealed);
    if (!parts) throw new PersonalDataUnreadable(subject, isSealed(sealed) ? 'malformed' : 'not_sealed');
    const key = await this.keyState(subject, false);
    if (key.state === 'destroyed') return null;
    if (key.state === 'absent') throw new PersonalDataUnreadable(subject, 'key_missing');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, parts.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(subject, 'utf8'));
      decipher.setAuthTag(parts.tag);
      return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new PersonalDataUnreadable(subject, 'authentication_failed');
    }
  }

  async destroy(subjectId: string): Promise<void> {
    const subject = normaliseSubject(subjectId);
    await this.pool.query(
      `INSERT INTO personal_data_keys (subject_id, wrapped_key, destroyed_at) VALUES ($1, NULL, now())
       ON CONFLICT (subject_id) DO UPDATE
         SET wrapped_key = NULL, destroyed_at = COALESCE(personal_data_keys.destroyed_at, now())`,
      [subject],
    );
    this.cache.set(subject, { state: 'destroyed' });
  }

  async isErased(subjectId: string): Promise<boolean> {
    const subject = normaliseSubject(subjectId);
    return (await this.keyState(subject, false)).state === 'destroyed';
  }

  /** The subject's key from the cache or the table; `create` makes one when there is none. */
  private keyState(subject: string, create: boolean): Promise<KeyState> {
    const cached = this.cache.get(subject);
    if (cached?.state === 'destroyed') return Promise.resolve(cached);
    if (cached?.state === 'active') {
      if (cached.expiresAt > this.now()) return Promise.resolve({ state: 'active', key: cached.key });
      this.cache.delete(subject);
    }
    // Concurrent calls in this process share one lookup (and so one key creation).
    const loadingKey = `${create ? 'create' : 'read'}:${subject}`;
    const pending = this.loading.get(loadingKey);
    if (pending) return pending;
    const load = this.load(subject, create).finally(() => this.loading.delete(loadingKey));
    this.loading.set(loadingKey, load);
    return load;
  }

  private async load(subject: string, create: boolean): Promise<KeyState> {
    let row = await this.selectKey(subject);
    if (!row && create) {
      // Race-safe across processes: whoever inserts first wins; everyone then uses the stored key.
      await this.pool.query(
        'INSERT INTO personal_data_keys (subject_id, wrapped_key) VALUES ($1, $2) ON CONFLICT (subject_id) DO NOTHING',
        [subject, this.wrap(subject, randomBytes(KEY_BYTES))],
      );
      row = await this.selectKey(subject);
      if (!row) throw new Error(`personal data key of subject ${subject} vanished right after it was created`);
    }
    if (!row) return { state: 'absent' };
    if (row.destroyed_at !== null || row.wrapped_key === null) {
      this.cache.set(subject, { state: 'destroyed' });
      return { state: 'destroyed' };
    }
    const key = this.unwrap(subject, row.wrapped_key);
    // A `destroy` in this process that finished while this lookup ran wins.
    if (this.cache.get(subject)?.state === 'destroyed') return { state: 'destroyed' };
    this.cache.set(subject, { state: 'active', key, expiresAt: this.now() + this.cacheTtlMs });
    return { state: 'active', key };
  }

  private async selectKey(subject: string): Promise<KeyRow | undefined> {
    const { rows } = await this.pool.query<KeyRow>({
      name: 'vault_select_key',
      text: 'SELECT wrapped_key, destroyed_at FROM personal_data_keys WHERE subject_id = $1',
      values: [subject],
    });
    return rows[0];
  }

  /** version (1 byte) | iv (12) | tag (16) | encrypted key (32); the subject is the AAD. */
  private wrap(subject: string, key: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.kek, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(wrapAad(subject));
    const encrypted = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([Buffer.from([WRAP_VERSION]), iv, cipher.getAuthTag(), encrypted]);
  }

  private unwrap(subject: string, wrapped: Buffer): Buffer {
    if (wrapped.length !== 1 + IV_BYTES + TAG_BYTES + KEY_BYTES || wrapped[0] !== WRAP_VERSION) {
      throw new PersonalDataUnreadable(subject, 'key_unwrap_failed');
    }
    try {
      const iv = wrapped.subarray(1, 1 + IV_BYTES);
      const tag = wrapped.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', this.kek, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(wrapAad(subject));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(wrapped.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PersonalDataUnreadable(subject, 'key_unwrap_failed');
    }
  }
}

function wrapAad(subject: string): Buffer {
  return Buffer.from(`personal-data-key:${subject}`, 'utf8');
}

function normaliseSubject(subjectId: string): string {
  if (typeof subjectId !== 'string' || !UUID.test(subjectId)) {
    throw new RangeError(`a personal data subject is a UUID, got ${JSON.stringify(subjectId)}`);
  }
  return subjectId.toLowerCase();
}

function parseSealed(sealed: string): { iv: Buffer; ciphertext: Buffer; tag: Buffer } | undefined {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== PREFIX) return undefined;
  const [, iv, ciphertext, tag] = parts as [string, string, string, string];
  if (![iv, ciphertext, tag].every((part) => BASE64URL.test(part))) return undefined;
  const decoded = {
    iv: Buffer.from(iv, 'base64url'),
    ciphertext: Buffer.from(ciphertext, 'base64url'),
    tag: Buffer.from(tag, 'base64url'),
  };
  if (decoded.iv.length !== IV_BYTES || decoded.tag.length !== TAG_BYTES) return undefined;
  return decoded;
}
