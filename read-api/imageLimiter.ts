import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';

/** Refused because every decode slot is busy and the queue is full: the route answers 503 with Retry-After. */
export class ImageLimiterBusy extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('too many images are being processed; retry shortly');
    this.name = 'ImageLimiterBusy';
  }
}

export interface ImageLimiterStats {
  /** Tasks running now. */
  active: number;
  /** Tasks waiting for a slot. */
  queued: number;
  /** Most tasks ever running at once since the last `resetPeak()`. */
  peakActive: number;
  /** Tasks refused because the queue was full. */
  rejected: number;
}

/**
 * A semaphore around image decoding. sharp runs on libuv's thread pool, which argon2 password checks share:
 * without a bound, a handful of large uploads occupy every pool thread and sign-ins queue behind them.
 * At most `concurrency` tasks run; up to `maxQueued` wait, first come first served; beyond that `run`
 * throws `ImageLimiterBusy` at once rather than holding more uploads (each up to 5 MB) in memory.
 */
export interface ImageLimiter {
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly retryAfterSeconds: number;
  run<T>(task: () => Promise<T>): Promise<T>;
  stats(): ImageLimiterStats;
  resetPeak(): void;
}

export interface ImageLimiterOptions {
  concurrency: number;
  maxQueued: number;
  /** Sent as Retry-After with the 503. */
  retryAfterSeconds?: number;
  /** Registers `image_decode_active`, `image_decode_queued` and `image_decode_rejected_total`. */
  registry?: Registry;
}

export function createImageLimiter(options: ImageLimiterOptions): ImageLimiter {
  const { concurrency, maxQueued, retryAfterSeconds = 2 } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('image limiter: concurrency must be ≥ 1');
  if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new Error('image limiter: maxQueued must be ≥ 0');
  let active = 0;
  let peakActive = 0;
  let rejected = 0;
  const waiting: Array<() => void> = [];

  const registers = options.registry ? [options.registry] : [];
  new Gauge({
    name: 'image_decode_active',
    help: 'images being decoded or encoded now',
    registers,
    collect() {
      this.set(active);
    },
  });
  new Gauge({
    name: 'image_decode_queued',
    help: 'images waiting for a decode slot',
    registers,
    collect() {
      this.set(waiting.length);
    },
  });
  const rejectedTotal = new Counter({
    name: 'image_decode_rejected_total',
    help: 'uploads refused with 503 because the image decode queue was full',
    registers,
  });

  const acquire = (): Promise<void> | undefined => {
    if (active < concurrency) {
      active++;
      peakActive = Math.max(peakActive, active);
      return undefined;
    }
    if (waiting.length >= maxQueued) {
      rejected++;
      rejectedTotal.inc();
      throw new ImageLimiterBusy(retryAfterSeconds);
    }
    // The slot is handed over by `release`, so `active` never dips and lets a newcomer jump the queue.
    return new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };

  return {
    concurrency,
    maxQueued,
    retryAfterSeconds,
    async run<T>(task: () => Promise<T>): Promise<T> {
      await acquire();
      try {
        return await task();
      } finally {
        release();
      }
    },
    stats: () => ({ active, queued: waiting.length, peakActive, rejected }),
    resetPeak() {
      peakActive = active;
    },
  };
}
