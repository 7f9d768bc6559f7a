import os from 'node:os';
import { type Algorithm, hash, parseOptions } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import {
  concurrencyLimiter,
  createPasswordHasher,
  DUMMY_HASH,
  defaultMaxConcurrentHashes,
  hashPassword,
  PasswordHashing,
  UnsupportedPasswordHash,
  verifyAgainstDummy,
  verifyPassword,
} from '../../../infra/auth/passwords.js';

const PASSWORD = 'lantern-orchard-velvet-47';
const ARGON2I = 1 as Algorithm;
const ARGON2ID = 2 as Algorithm;
const PHC_ARGON2ID = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(job: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await job();
  return performance.now() - started;
}

describe('hashPassword and verifyPassword', () => {
  it('verifies the password it hashed, with no rehash needed', async () => {
    const stored = await hashPassword(PASSWORD);
    expect(await verifyPassword(stored, PASSWORD)).toEqual({ ok: true, needsRehash: false });
  });

  it('refuses a wrong password', async () => {
    const stored = await hashPassword(PASSWORD);
    expect(await verifyPassword(stored, 'lantern-orchard-velvet-48')).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword(stored, PASSWORD.toUpperCase())).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword(stored, '')).toEqual({ ok: false, needsRehash: false });
  });

  it('returns an argon2id PHC string with the OWASP parameters and a fresh salt each time', async () => {
    const [first, second] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
    expect(first).toMatch(PHC_ARGON2ID);
    expect(second).toMatch(PHC_ARGON2ID);
    expect(first).not.toBe(second);
    expect(parseOptions(first)).toMatchObject({
      algorithm: ARGON2ID,
      memoryCost: PasswordHashing.memoryCostKiB,
      timeCost: PasswordHashing.timeCost,
      parallelism: PasswordHashing.parallelism,
      outputLen: PasswordHashing.outputLength,
      saltLen: 16,
    });
    expect(PasswordHashing).toMatchObject({ memoryCostKiB: 19 * 1024, timeCost: 2, parallelism: 1 });
  });

  it('treats Unicode forms of the same password alike (NFKC)', async () => {
    const composed = 'Café-au-lait-Straße';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    const stored = await hashPassword(composed);
    expect((await verifyPassword(stored, decomposed)).ok).toBe(true);
  });

  it.each([
    ['less memory', { memoryCost: 4096, timeCost: 2 }],
    ['fewer passes', { memoryCost: 19_456, timeCost: 1 }],
    ['argon2i', { memoryCost: 19_456, timeCost: 2, algorithm: ARGON2I }],
    ['a 16-byte output', { memoryCost: 19_456, timeCost: 2, outputLen: 16 }],
  ])('asks for a rehash of a hash made with %s', async (_label, options) => {
    const weak = await hash(PASSWORD, { algorithm: ARGON2ID, parallelism: 1, ...options });
    expect(await verifyPassword(weak, PASSWORD)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword(weak, 'not the password')).toEqual({ ok: false, needsRehash: false });
  });

  it('does not ask for a rehash of a hash stronger than the current parameters', async () => {
    const strong = await hash(PASSWORD, { algorithm: ARGON2ID, memoryCost: 32_768, timeCost: 3, parallelism: 1 });
    expect(await verifyPassword(strong, PASSWORD)).toEqual({ ok: true, needsRehash: false });
  });

  it('throws UnsupportedPasswordHash for a stored value that is not an argon2 PHC string', async () => {
    const bcrypt = '$2b$12$4PnASs/tKpdqgS8gwNtWxulbPfDTLRhol5GcybfbxrAPrUtmeQsNG';
    await expect(verifyPassword(bcrypt, PASSWORD)).rejects.toBeInstanceOf(UnsupportedPasswordHash);
    await expect(verifyPassword('', PASSWORD)).rejects.toBeInstanceOf(UnsupportedPasswordHash);
  });
});

describe('verifyAgainstDummy', () => {
  it('uses a dummy hash made with the current parameters', () => {
    expect(DUMMY_HASH).toMatch(PHC_ARGON2ID);
  });

  it('always refuses', async () => {
    expect(await verifyAgainstDummy(PASSWORD)).toEqual({ ok: false, needsRehash: false });
    expect(await verifyAgainstDummy('')).toEqual({ ok: false, needsRehash: false });
  });

  it('takes about as long as verifying a real account', async () => {
    const stored = await hashPassword(PASSWORD);
    const real: number[] = [];
    const dummy: number[] = [];
    for (let round = 0; round < 7; round++) {
      real.push(await timed(() => verifyPassword(stored, 'a wrong guess at it')));
      dummy.push(await timed(() => verifyAgainstDummy('a wrong guess at it')));
    }
    const ratio = median(dummy) / median(real);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});

describe('event loop', () => {
  it('keeps a 10 ms interval firing while 8 hashes run concurrently', async () => {
    const gaps: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 10);
    const started = performance.now();
    try {
      await Promise.all(Array.from({ length: 8 }, (_, index) => hashPassword(`${PASSWORD}-${index}`)));
    } finally {
      clearInterval(timer);
    }
    const batchMs = performance.now() - started;
    const longestGap = Math.max(...gaps);
    // Hashing on the event loop would let no tick through until the whole batch (8 x 15 ms or more) is done.
    // The bounds are generous: other work on the machine can delay a timer by tens of milliseconds.
    expect(gaps.length, `batch ${batchMs.toFixed(0)} ms`).toBeGreaterThanOrEqual(Math.floor(batchMs / 10 / 3));
    expect(longestGap, `gaps ${gaps.map((gap) => gap.toFixed(0)).join(',')}`).toBeLessThan(250);
  });
});

describe('concurrency', () => {
  it('runs at most the limit at once, in call order, and frees the slot after a failure', async () => {
    const limited = concurrencyLimiter(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (index: number) => async () => {
      started.push(index);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      if (index === 1) throw new Error('task 1 fails');
      return index;
    };
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, index) => limited(task(index))));
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(await limited(async () => 'still usable')).toBe('still usable');
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => concurrencyLimiter(0)).toThrow(RangeError);
    expect(() => concurrencyLimiter(1.5)).toThrow(RangeError);
  });

  it('hashes one per core by default, leaving a libuv thread free', () => {
    const limit = defaultMaxConcurrentHashes();
    expect(limit).toBeGreaterThanOrEqual(1);
    expect(limit).toBeLessThanOrEqual(os.availableParallelism());
    expect(limit).toBeLessThan(Number(process.env.UV_THREADPOOL_SIZE) || 4);
  });

  it('works the same through a hasher with its own limit', async () => {
    const hasher = createPasswordHasher({ maxConcurrent: 1 });
    const stored = await hasher.hashPassword(PASSWORD);
    expect(stored).toMatch(PHC_ARGON2ID);
    const [right, wrong, dummy] = await Promise.all([
      hasher.verifyPassword(stored, PASSWORD),
      hasher.verifyPassword(stored, 'wrong'),
      hasher.verifyAgainstDummy(PASSWORD),
    ]);
    expect([right.ok, wrong.ok, dummy.ok]).toEqual([true, false, false]);
  });
});
