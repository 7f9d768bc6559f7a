import { type Algorithm, hash, type Options, parseOptions, type Version, verify } from '@node-rs/argon2';
import { isCommonPassword } from './commonPasswords.js';

// The package declares these as `const enum`s, which isolatedModules cannot read; values from its index.d.ts.
const ARGON2ID = 2 as Algorithm;
const VERSION_0X13 = 1 as Version;

/**
 * argon2id at the OWASP Password Storage Cheat Sheet's recommendation: 19 MiB of memory, 2 passes,
 * 1 lane. A 32-byte output and the library's 16-byte random salt. Measured against bcrypt cost 12
 * in bench/passwords.bench.ts (npm run bench:passwords).
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

/**
 * An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) of the NFKC-normalised
 * password. Runs on the libuv thread pool, so the event loop stays free while it works.
 */
export function hashPassword(plain: string): Promise<string> {
  return hash(normalise(plain), HASH_OPTIONS);
}

/**
 * Checks `plain` against a PHC string from `hashPassword` (or from earlier, weaker argon2 settings).
 * Throws `UnsupportedPasswordHash` when `stored` is not an argon2 PHC string.
 */
export async function verifyPassword(stored: string, plain: string): Promise<PasswordVerification> {
  let parameters: ReturnType<typeof parseOptions>;
  try {
    parameters = parseOptions(stored);
  } catch {
    throw new UnsupportedPasswordHash();
  }
  const ok = await verify(stored, normalise(plain));
  if (!ok) return { ok: false, needsRehash: false };
  const weaker =
    parameters.algorithm !== ARGON2ID ||
    parameters.version !== VERSION_0X13 ||
    parameters.memoryCost < PasswordHashing.memoryCostKiB ||
    parameters.timeCost < PasswordHashing.timeCost ||
    parameters.outputLen < PasswordHashing.outputLength ||
    parameters.saltLen < PasswordHashing.minimumSaltLength;
  return { ok: true, needsRehash: weaker };
}

/**
 * For a login whose email matches no account: the same argon2id work as `verifyPassword`, so the
 * answer takes as long as for a known email. Always `{ ok: false }`.
 */
export async function verifyAgainstDummy(plain: string): Promise<{ ok: false; needsRehash: false }> {
  await verify(DUMMY_HASH, normalise(plain));
  return { ok: false, needsRehash: false };
}

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
