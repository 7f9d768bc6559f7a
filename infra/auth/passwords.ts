import os from 'node:os';
import { type Algorithm, hash, type Options, parseOptions, type Version, verify } from '@node-rs/argon2';
import { isCommonPassword } from './commonPasswords.js';

// The package declares these as `const enum`s, which isolatedModules cannot read; values from its index.d.ts.
const ARGON2ID = 2 as Algorithm;
const VERSION_0X13 = 1 as Version;

/**
 * argon2id at the OWASP Password Storage Cheat Sheet's recommendation: 19 MiB of memory, 2 passes,
 * 1 lane. A 32-byte output and the library's 16-byte random salt. Chosen over the product design's
 * bcrypt cost 12: OWASP ranks argon2id first and bcrypt for legacy systems, it has no 72-byte input
 * limit, and on this 2-core machine a verify costs about 15 ms of CPU against bcrypt 12's 265 ms, so
 * 8 concurrent logins wait about 75 ms at p95 instead of over a second (npm run bench:passwords).
 */
export const PasswordHashing = Object.freeze({
  memoryCostKiB: 19_456,
  timeCost: 2,
  parallelism: 1,
  outputLength: 32,
  minimumSaltLength: 16,
});

const HASH_OPTIONS: Options = {
  algorithm: ARGON2ID,
  version: VERSION_0X13,
  memoryCost: PasswordHashing.memoryCostKiB,
  timeCost: PasswordHashing.timeCost,
  parallelism: PasswordHashing.parallelism,
  outputLen: PasswordHashing.outputLength,
};

/**
 * A hash of a random password nobody knows, made with the parameters above (a test checks that it
 * still matches them), so that a login for an unknown email does the same work as a real one.
 */
export const DUMMY_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$t54jkC2n2V2LI0A8By/u+Q$v5nLqQn6zoTdAPW8mZ3IoT74WiGcIlQbhO1olGoeHJ4';

export interface PasswordVerification {
  ok: boolean;
  /** The password was right but the stored hash is weaker than the current parameters: store `hashPassword(plain)`. */
  needsRehash: boolean;
}

export class UnsupportedPasswordHash extends Error {
  readonly code = 'UNSUPPORTED_PASSWORD_HASH';
  constructor() {
    super('stored password hash is not an argon2 PHC string');
    this.name = 'UnsupportedPasswordHash';
  }
}

// The same password typed on different keyboards or systems can arrive in different Unicode forms.
function normalise(plain: string): string {
  return plain.normalize('NFKC');
}

/** Runs at most `limit` tasks at once; the others wait their turn in call order. */
export function concurrencyLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
  }
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (running < limit) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // A finished task hands its slot straight to the next waiting one.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/**
 * How many argon2 computations may run at once: one per core, and always one libuv thread left
 * for file, DNS and other crypto work. Past that a hash only queues for a core anyway, and a burst
 * of logins would otherwise fill the whole libuv pool queue (measured in bench/passwords.bench.ts).
 */
export function defaultMaxConcurrentHashes(): number {
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(os.availableParallelism(), poolSize - 1));
}

export interface PasswordHasher {
  /**
   * An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) of the NFKC-normalised
   * password. Runs on the libuv thread pool, so the event loop stays free while it works.
   */
  hashPassword(plain: string): Promise<string>;
  /**
   * Checks `plain` against a PHC string from `hashPassword` (or from earlier, weaker argon2 settings).
   * Throws `UnsupportedPasswordHash` when `stored` is not an argon2 PHC string.
   */
  verifyPassword(stored: string, plain: string): Promise<PasswordVerification>;
  /**
   * For a login whose email matches no account: the same argon2id work as `verifyPassword`, so the
   * answer takes as long as for a known email. Always `{ ok: false }`.
   */
  verifyAgainstDummy(plain: string): Promise<{ ok: false; needsRehash: false }>;
}

function isWeaker(parameters: ReturnType<typeof parseOptions>): boolean {
  return (
    parameters.algorithm !== ARGON2ID ||
    parameters.version !== VERSION_0X13 ||
    parameters.memoryCost < PasswordHashing.memoryCostKiB ||
    parameters.timeCost < PasswordHashing.timeCost ||
    parameters.outputLen < PasswordHashing.outputLength ||
    parameters.saltLen < PasswordHashing.minimumSaltLength
  );
}

/** A hasher whose argon2 work runs at most `maxConcurrent` at a time (default `defaultMaxConcurrentHashes()`). */
export function createPasswordHasher(options: { maxConcurrent?: number | undefined } = {}): PasswordHasher {
  const limited = concurrencyLimiter(options.maxConcurrent ?? defaultMaxConcurrentHashes());
  return {
    hashPassword: (plain) => limited(() => hash(normalise(plain), HASH_OPTIONS)),
    async verifyPassword(stored, plain) {
      let parameters: ReturnType<typeof parseOptions>;
      try {
        parameters = parseOptions(stored);
      } catch {
        throw new UnsupportedPasswordHash();
      }
      const ok = await limited(() => verify(stored, normalise(plain)));
      return ok ? { ok: true, needsRehash: isWeaker(parameters) } : { ok: false, needsRehash: false };
    },
    async verifyAgainstDummy(plain) {
      await limited(() => verify(DUMMY_HASH, normalise(plain)));
      return { ok: false, needsRehash: false };
    },
  };
}

const defaultHasher = createPasswordHasher();

/** `hashPassword` of the process-wide hasher; see `PasswordHasher`. */
export const hashPassword: PasswordHasher['hashPassword'] = defaultHasher.hashPassword;
/** `verifyPassword` of the process-wide hasher; see `PasswordHasher`. */
export const verifyPassword: PasswordHasher['verifyPassword'] = defaultHasher.verifyPassword;
/** `verifyAgainstDummy` of the process-wide hasher; see `PasswordHasher`. */
export const verifyAgainstDummy: PasswordHasher['verifyAgainstDummy'] = defaultHasher.verifyAgainstDummy;

export const PasswordPolicy = Object.freeze({
  minLength: 10,
  maxLength: 256,
  /** Email local parts and names shorter than this are not looked for in the password. */
  personalDataMinLength: 4,
});

export type PasswordPolicyCode =
  | 'PASSWORD_TOO_SHORT'
  | 'PASSWORD_TOO_LONG'
  | 'PASSWORD_TOO_COMMON'
  | 'PASSWORD_CONTAINS_PERSONAL_DATA';

export type PasswordPolicyResult = { ok: true } | { ok: false; code: PasswordPolicyCode; message: string };

export interface PasswordContext {
  email?: string | undefined;
  fullName?: string | undefined;
}

const codePoints = (text: string) => [...text].length;

/** The pieces of an email and a name that a password must not contain, lower-cased. */
function personalFragments(context: PasswordContext): string[] {
  const fragments: string[] = [];
  if (context.email) {
    const local = normalise(context.email).trim().toLowerCase().split('@')[0] ?? '';
    const untagged = local.split('+')[0] ?? '';
    fragments.push(local, untagged, ...untagged.split(/[._-]+/));
  }
  if (context.fullName) {
    const name = normalise(context.fullName).toLowerCase().trim();
    const words = name.split(/[\s,.'-]+/u);
    fragments.push(name, words.join(''), ...words);
  }
  return fragments.filter((fragment) => codePoints(fragment) >= PasswordPolicy.personalDataMinLength);
}

/**
 * Rules for a new password: 10 to 256 Unicode code points after NFKC normalisation, not a common
 * password (case-insensitive), and not containing the email's local part or the person's name
 * (nor a part of either of at least 4 code points).
 */
export function checkPasswordPolicy(password: string, context: PasswordContext = {}): PasswordPolicyResult {
  const normalised = normalise(password);
  const length = codePoints(normalised);
  if (length < PasswordPolicy.minLength) {
    return {
      ok: false,
      code: 'PASSWORD_TOO_SHORT',
      message: `The password must have at least ${PasswordPolicy.minLength} characters.`,
    };
  }
  if (length > PasswordPolicy.maxLength) {
    return {
      ok: false,
      code: 'PASSWORD_TOO_LONG',
      message: `The password must have at most ${PasswordPolicy.maxLength} characters.`,
    };
  }
  if (isCommonPassword(normalised)) {
    return {
      ok: false,
      code: 'PASSWORD_TOO_COMMON',
      message: 'This password is on a list of commonly used passwords; choose another.',
    };
  }
  const lower = normalised.toLowerCase();
  if (personalFragments(context).some((fragment) => lower.includes(fragment))) {
    return {
      ok: false,
      code: 'PASSWORD_CONTAINS_PERSONAL_DATA',
      message: 'The password must not contain your email address or your name.',
    };
  }
  return { ok: true };
}
