import type { GeocodeResult } from './geocoder.js';
import { TtlCache } from './ttlCache.js';

/**
 * Answers repeated addresses from memory: found and not-found results are kept (addresses repeat:
 * every room of one building, every venue of one campus); failures are not, so the next call asks
 * again. Concurrent lookups of one key share a single request.
 */
export class CachedLookups {
  private readonly cache: TtlCache<GeocodeResult | null>;
  private readonly inFlight = new Map<string, Promise<GeocodeResult | null>>();

  constructor(maxEntries: number, ttlMs: number) {
    this.cache = new TtlCache(maxEntries, ttlMs);
  }

  async lookup(key: string, load: () => Promise<GeocodeResult | null>): Promise<GeocodeResult | null> {
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached === null ? null : structuredClone(cached);
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = load().then(
        (result) => {
          this.cache.set(key, result);
          this.inFlight.delete(key);
          return result;
        },
        (error: unknown) => {
          this.inFlight.delete(key);
          throw error;
        },
      );
      this.inFlight.set(key, pending);
    }
    const result = await pending;
    return result === null ? null : structuredClone(result);
  }
}
