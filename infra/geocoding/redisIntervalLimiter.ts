import type { Redis } from 'ioredis';

/** What the Nominatim adapter needs of a limiter: a slot per request, and a pause when the provider asks. */
export interface IntervalLimiter {
  readonly intervalMs: number;
  acquire(maxWaitMs: number): Promise<{ waitedMs: number } | { refusedForMs: number }>;
  pauseFor(ms: number): void;
}

/**
 * Takes the next slot, `interval` ms after the last one handed out, on Redis's clock (TIME), so every
 * process that shares the key shares one rate. Returns the wait in ms, or minus the wait when it is longer
 * than the caller accepts (no slot is taken then).
 */
const TAKE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local maxWait = tonumber(ARGV[2])
local nextSlot = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nextSlot)
local wait = slot - now
if wait > maxWait then return -wait - 1 end
redis.call('SET', KEYS[1], slot + interval, 'PX', wait + interval + 1000)
return wait`;

/** No slot before `ms` from now (a 429 with Retry-After from the provider). */
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local resume = now + tonumber(ARGV[1])
local nextSlot = tonumber(redis.call('GET', KEYS[1]) or '0')
if resume > nextSlot then redis.call('SET', KEYS[1], resume, 'PX', tonumber(ARGV[1]) + 1000) end
return 1`;

/**
 * The Nominatim rate across processes: the public instance allows one request per second per application,
 * not per process, so API processes share their slots through Redis. Waiting happens in the caller's process.
 */
export class RedisIntervalLimiter implements IntervalLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    readonly intervalMs: number,
  ) {}

  async acquire(maxWaitMs: number): Promise<{ waitedMs: number } | { refusedForMs: number }> {
    const result = Number(await this.redis.eval(TAKE_SLOT, 1, this.key, this.intervalMs, maxWaitMs));
    if (result < 0) return { refusedForMs: -result - 1 };
    if (result > 0) await new Promise((resolve) => setTimeout(resolve, result));
    return { waitedMs: result };
  }

  pauseFor(ms: number): void {
    void this.redis.eval(PAUSE, 1, this.key, Math.max(0, Math.round(ms))).catch(() => undefined);
  }
}
