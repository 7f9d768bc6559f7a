import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createChdbAnalyticsStore } from '../../../infra/analytics/chdb/chdbAnalyticsStore.js';
import { analyticsStoreContract } from './analyticsStore.contract.js';

function freshDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'roomline-chdb-'));
}

/**
 * Timer drift on this loop. A blocked loop shows as a gap between ticks during which this process was on the CPU;
 * a gap while it was not (other processes had the cores) is the scheduler's, which no adapter can prevent. So each
 * gap is also charged with the CPU this process used meanwhile (chDB's own process is not counted).
 */
function loopProbe() {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let longestGap = 0;
  let longestBusyGap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    const gap = now - last;
    longestGap = Math.max(longestGap, gap);
    longestBusyGap = Math.max(longestBusyGap, Math.min(gap, (cpu.user + cpu.system) / 1000));
    last = now;
    lastCpu = process.cpuUsage();
    ticks++;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return { ticks, longestGap, longestBusyGap };
    },
  };
}

/** The pids of this process's chDB engine processes on `path` (Linux /proc). */
function enginePids(path: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return parent === process.pid && command.includes('chdbProcess.mjs') && command.includes(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}

analyticsStoreContract('chdb', async () => {
  const path = freshDirectory();
  const store = createChdbAnalyticsStore({ path });
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(path, { recursive: true, force: true });
    },
  };
});

describe('chdb analytics store', () => {
  it('keeps the event loop turning while four heavy queries run', async () => {
    const path = freshDirectory();
    const store = createChdbAnalyticsStore({ path });
    try {
      await store.query('SELECT 1');
      // The probe itself sees a loop blocked on this process's CPU.
      const control = loopProbe();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const spinFrom = process.cpuUsage();
      while (process.cpuUsage(spinFrom).user < 120_000) {
        // 120 ms of this process's CPU in one synchronous stretch, as a blocking chDB call would be
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(control.stop().longestBusyGap).toBeGreaterThan(100);

      const probe = loopProbe();
      const started = performance.now();
      const heavy = 'SELECT max(sipHash64(number, {salt:UInt64})) AS h FROM numbers({n:UInt64})';
      const results = await Promise.all(
        [1, 2, 3, 4].map((salt) => store.query<{ h: number }>(heavy, { salt, n: 6_000_000 })),
      );
      const elapsed = performance.now() - started;
      const { ticks, longestGap, longestBusyGap } = probe.stop();
      console.info(
        `[chdb] four heavy queries took ${elapsed.toFixed(0)} ms; the loop ticked ${ticks} times (every 5 ms asked), ` +
          `longest gap ${longestGap.toFixed(1)} ms, of which this process was busy at most ${longestBusyGap.toFixed(1)} ms`,
      );
      expect(results).toHaveLength(4);
      expect(elapsed).toBeGreaterThan(200);
      expect(longestBusyGap).toBeLessThan(50);
      // A synchronous chDB call would stall the loop for a whole query (a quarter of the time or more).
      expect(longestGap).toBeLessThan(elapsed / 8);
    } finally {
      await store.close();
      rmSync(path, { recursive: true, force: true });
    }
  });

  it('when the engine process dies, the calls in flight fail with engine and the next call starts a new one', async () => {
    const path = freshDirectory();
    const store = createChdbAnalyticsStore({ path });
    try {
      await store.migrate();
      await store.insert('searches', [{ search_id: 'kept', searched_at: new Date(), result_count: 1, latency_ms: 1 }]);
      const [pid] = enginePids(path);
      expect(pid).toBeTypeOf('number');
      const inFlight = store.query('SELECT max(sipHash64(number)) AS h FROM numbers(50000000)');
      await new Promise((resolve) => setTimeout(resolve, 100));
      process.kill(pid!, 'SIGKILL');
      await expect(inFlight).rejects.toMatchObject({ code: 'engine', message: expect.stringMatching(/SIGKILL/) });
      expect(await store.query('SELECT search_id FROM searches FINAL')).toEqual([{ search_id: 'kept' }]);
      expect(enginePids(path)).toHaveLength(1);
      expect(enginePids(path)[0]).not.toBe(pid);
    } finally {
      await store.close();
      rmSync(path, { recursive: true, force: true });
    }
  });

  it('an export nobody reads any more is cancelled after streamIdleMs, so the calls behind it run', async () => {
    const path = freshDirectory();
    const store = createChdbAnalyticsStore({ path, streamIdleMs: 300 });
    try {
      const iterator = store
        .queryStream('SELECT number FROM numbers(1000000)', {}, { format: 'CSV' })
        [Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);
      // The reader stops here, neither draining nor cancelling.
      const started = performance.now();
      expect(await store.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(performance.now() - started).toBeGreaterThan(250);
      await expect(iterator.next()).rejects.toMatchObject({ code: 'query', message: expect.stringMatching(/idle/) });
    } finally {
      await store.close();
      rmSync(path, { recursive: true, force: true });
    }
  });

  it('a second store on a directory another one holds fails with a clear engine error, and takes over once it is free', async () => {
    const path = freshDirectory();
    const first = createChdbAnalyticsStore({ path });
    const second = createChdbAnalyticsStore({ path });
    try {
      await first.query('SELECT 1');
      await expect(second.query('SELECT 1')).rejects.toMatchObject({
        code: 'engine',
        message: expect.stringContaining(path),
      });
      await first.close();
      expect(await second.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
    } finally {
      await first.close();
      await second.close();
      rmSync(path, { recursive: true, force: true });
    }
  });

  it('close ends the engine process', async () => {
    const path = freshDirectory();
    const store = createChdbAnalyticsStore({ path });
    try {
      await store.query('SELECT 1');
      expect(enginePids(path)).toHaveLength(1);
      await store.close();
      expect(enginePids(path)).toEqual([]);
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });

  it('keeps its data across a close and a reopen of the same directory', async () => {
    const path = freshDirectory();
    try {
      const first = createChdbAnalyticsStore({ path });
      await first.migrate();
      await first.insert('searches', [{ search_id: 's1', searched_at: new Date(), result_count: 4, latency_ms: 3 }]);
      await first.close();
      const second = createChdbAnalyticsStore({ path });
      expect(await second.query('SELECT search_id, result_count FROM searches FINAL')).toEqual([
        { search_id: 's1', result_count: 4 },
      ]);
      await second.close();
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });

  it('refuses calls beyond its queue bound instead of piling them up', async () => {
    const path = freshDirectory();
    const store = createChdbAnalyticsStore({ path, maxQueued: 2 });
    try {
      await store.query('SELECT 1');
      const calls = [1, 2, 3].map(() => store.query('SELECT count() AS n FROM numbers(1000)'));
      const settled = await Promise.allSettled(calls);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'overloaded' });
    } finally {
      await store.close();
      rmSync(path, { recursive: true, force: true });
    }
  });
});
