/**
 * Spaces requests at least `intervalMs` apart (start to start) by handing out time slots: the public
 * Nominatim instance allows one request per second per application. A caller whose slot is further
 * away than `maxWaitMs` is refused at once rather than queued behind minutes of others.
 */
export class MinIntervalLimiter {
  private nextSlot = 0;

  constructor(readonly intervalMs: number) {}

  /**
   * Waits for a slot and takes it. Returns `{ waitedMs }`, or `{ refusedForMs }` without taking a
   * slot when it would have to wait longer than `maxWaitMs`.
   */
  async acquire(maxWaitMs: number): Promise<{ waitedMs: number } | { refusedForMs: number }> {
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot);
    const wait = slot - now;
    if (wait > maxWaitMs) return { refusedForMs: wait };
    this.nextSlot = slot + this.intervalMs;
    // Timers may fire a millisecond before the wall clock reaches the slot: sleep until it has.
    while (Date.now() < slot) await new Promise((resolve) => setTimeout(resolve, slot - Date.now()));
    return { waitedMs: wait };
  }

  /** No slot before `ms` from now: the provider asked us to back off (429 with Retry-After). */
  pauseFor(ms: number): void {
    this.nextSlot = Math.max(this.nextSlot, Date.now() + ms);
  }
}

const shared = new Map<string, MinIntervalLimiter>();

/**
 * The one limiter of this process for a provider origin and interval, so that several adapters built
 * in one process (api, projector and worker in `all`) still send one request per interval together.
 */
export function processLimiter(origin: string, intervalMs: number): MinIntervalLimiter {
  const key = `${origin} ${intervalMs}`;
  let limiter = shared.get(key);
  if (limiter === undefined) {
    limiter = new MinIntervalLimiter(intervalMs);
    shared.set(key, limiter);
  }
  return limiter;
}
