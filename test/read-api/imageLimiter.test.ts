import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createImageLimiter, ImageLimiterBusy } from '../../read-api/imageLimiter.js';

/** A task that runs until released, recording how many ran at once. */
function gate() {
  let running = 0;
  let most = 0;
  const releases: Array<() => void> = [];
  const task = () =>
    new Promise<void>((resolve) => {
      running++;
      most = Math.max(most, running);
      releases.push(() => {
        running--;
        resolve();
      });
    });
  return { task, releaseOne: () => releases.shift()?.(), most: () => most, running: () => running };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('image limiter', () => {
  it('runs at most `concurrency` tasks, queues up to `maxQueued` in order, refuses the rest at once', async () => {
    const limiter = createImageLimiter({ concurrency: 2, maxQueued: 3, retryAfterSeconds: 7 });
    const g = gate();
    const order: number[] = [];
    const accepted = Array.from({ length: 5 }, (_, i) => limiter.run(() => g.task().then(() => order.push(i))));
    await tick();
    expect(g.running()).toBe(2);
    expect(limiter.stats()).toMatchObject({ active: 2, queued: 3 });
    const refused = await limiter.run(g.task).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ImageLimiterBusy);
    expect((refused as ImageLimiterBusy).retryAfterSeconds).toBe(7);
    expect(limiter.stats().rejected).toBe(1);
    while (g.running() > 0) {
      g.releaseOne();
      await tick();
    }
    await Promise.all(accepted);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(g.most()).toBe(2);
    expect(limiter.stats()).toEqual({ active: 0, queued: 0, peakActive: 2, rejected: 1 });
  });

  it('frees the slot of a task that fails', async () => {
    const limiter = createImageLimiter({ concurrency: 1, maxQueued: 0 });
    await expect(limiter.run(() => Promise.reject(new Error('cannot decode')))).rejects.toThrow('cannot decode');
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
    expect(limiter.stats().active).toBe(0);
  });

  it('reports active, queued and refused images as metrics', async () => {
    const registry = new Registry();
    const limiter = createImageLimiter({ concurrency: 1, maxQueued: 1, registry });
    const g = gate();
    const runs = [limiter.run(g.task), limiter.run(g.task)];
    await limiter.run(g.task).catch(() => undefined);
    await tick();
    const text = await registry.metrics();
    expect(text).toMatch(/^image_decode_active 1$/m);
    expect(text).toMatch(/^image_decode_queued 1$/m);
    expect(text).toMatch(/^image_decode_rejected_total 1$/m);
    g.releaseOne();
    await tick();
    g.releaseOne();
    await Promise.all(runs);
  });
});
