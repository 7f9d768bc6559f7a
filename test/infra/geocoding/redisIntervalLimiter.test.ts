import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisIntervalLimiter } from '../../../infra/geocoding/redisIntervalLimiter.js';
import { REDIS_URL } from '../../support/redis.js';

/** Two processes' worth of limiters (two connections) on a real Redis, sharing one key. */
const first = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
const second = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
afterAll(async () => {
  first.disconnect();
  second.disconnect();
});

const pair = (intervalMs: number) => {
  const key = `rl-test-limiter-${randomUUID()}`;
  return [new RedisIntervalLimiter(first, key, intervalMs), new RedisIntervalLimiter(second, key, intervalMs)] as const;
};

describe('the Nominatim rate shared through Redis', () => {
  it('spaces requests from several processes one interval apart', async () => {
    const [a, b] = pair(250);
    const started = Date.now();
    const times = await Promise.all(
      [a, b, a, b].map(async (limiter) => {
        const turn = await limiter.acquire(5_000);
        expect('waitedMs' in turn).toBe(true);
        return Date.now();
      }),
    );
    times.sort((x, y) => x - y);
    // Exact: the fourth slot is three intervals after the first (Redis's clock is this machine's).
    expect(times[3]! - started).toBeGreaterThanOrEqual(3 * 250 - 20);
    // Each wake-up can be late by event-loop load, which can shorten the next gap: checked with allowance.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(150);
  });

  it('refuses at once a caller whose turn is further away than it accepts, without taking a slot', async () => {
    const [a, b] = pair(400);
    await a.acquire(1_000);
    const refused = await b.acquire(100);
    expect('refusedForMs' in refused && refused.refusedForMs).toBeGreaterThan(100);
    const started = Date.now();
    await b.acquire(1_000);
    // The refused call took nothing: the next slot is the one right after the first (about 400 ms), not
    // the one after that (800 ms).
    expect(Date.now() - started).toBeLessThan(700);
  });

  it('holds every process back when one is told to back off', async () => {
    const [a, b] = pair(50);
    a.pauseFor(400);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    await b.acquire(2_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(330);
  });
});
