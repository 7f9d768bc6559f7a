import { CachedLookups } from './cachedLookups.js';
import { fetchProviderJson } from './fetchProviderJson.js';
import {
  cacheKeyOf,
  type GeocodeOptions,
  type GeocodeResult,
  type Geocoder,
  GeocoderConfigurationError,
  GeocoderUnavailable,
  toLocation,
} from './geocoder.js';
import { processLimiter } from './minIntervalLimiter.js';
import type { IntervalLimiter } from './redisIntervalLimiter.js';

export interface NominatimOptions {
  /** Base URL of the instance, e.g. https://nominatim.openstreetmap.org (a path prefix is kept). */
  baseUrl: string;
  /** Identifies the application, as Nominatim's usage policy requires (stock library agents get blocked). */
  userAgent: string;
  /** Default 5000. */
  timeoutMs?: number;
  /** Minimum spacing of requests to this instance from this process; default 1000 (the public policy). */
  minIntervalMs?: number;
  /** A lookup that would wait longer than this for its turn fails at once as rate limited; default 5000. */
  maxQueueWaitMs?: number;
  /** Default 5000 entries; 0 disables the cache. */
  cacheSize?: number;
  /** Default one day. */
  cacheTtlMs?: number;
  /** Shares the request rate across processes (Redis); default: a limiter of this process. */
  limiter?: IntervalLimiter;
}

/** One result of `/search?format=jsonv2`, the fields we read (https://nominatim.org/release-docs/latest/api/Output/). */
interface NominatimPlace {
  lat?: unknown;
  lon?: unknown;
  display_name?: unknown;
  licence?: unknown;
}

const OSM_ATTRIBUTION = 'Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright';

/** A geocoder over the Nominatim search API (the public OpenStreetMap instance or a self-hosted one). */
export function createNominatimGeocoder(options: NominatimOptions): Geocoder {
  let base: URL;
  try {
    base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  } catch {
    throw new GeocoderConfigurationError('nominatim', `NOMINATIM_URL is not a URL: ${options.baseUrl}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new GeocoderConfigurationError('nominatim', `NOMINATIM_URL must be http(s), not ${base.protocol}`);
  }
  const userAgent = options.userAgent.trim();
  if (userAgent === '' || !/^[\x20-\x7e]+$/.test(userAgent)) {
    throw new GeocoderConfigurationError(
      'nominatim',
      'GEOCODER_USER_AGENT must name the application in printable ASCII (Nominatim usage policy)',
    );
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxQueueWaitMs = options.maxQueueWaitMs ?? 5000;
  const limiter: IntervalLimiter = options.limiter ?? processLimiter(base.origin, options.minIntervalMs ?? 1000);
  const cache = new CachedLookups(options.cacheSize ?? 5000, options.cacheTtlMs ?? 86_400_000);

  async function search(address: string, geocodeOptions: GeocodeOptions): Promise<GeocodeResult | null> {
    const url = new URL('search', base);
    url.searchParams.set('format', 'jsonv2');
    url.searchParams.set('q', address);
    url.searchParams.set('limit', '1');
    url.searchParams.set('addressdetails', '0');
    const countries = (geocodeOptions.countryCodes ?? []).map((c) => c.trim().toLowerCase()).filter(Boolean);
    if (countries.length > 0) url.searchParams.set('countrycodes', countries.join(','));
    if (geocodeOptions.language) url.searchParams.set('accept-language', geocodeOptions.language);

    const turn = await limiter.acquire(maxQueueWaitMs);
    if ('refusedForMs' in turn) {
      throw new GeocoderUnavailable(
        'nominatim',
        'rate_limited',
        `more lookups queued than one per ${limiter.intervalMs} ms allows within ${maxQueueWaitMs} ms`,
        Math.ceil(turn.refusedForMs / 1000),
      );
    }
    let body: unknown;
    try {
      ({ body } = await fetchProviderJson('nominatim', url, {
        headers: { 'user-agent': userAgent },
        timeoutMs,
        defaultRetryAfterSeconds: 5,
      }));
    } catch (error) {
      if (error instanceof GeocoderUnavailable && error.reason === 'rate_limited') {
        limiter.pauseFor(error.retryAfterSeconds * 1000);
      }
      if (error instanceof GeocoderConfigurationError && / 403:/.test(error.message)) {
        throw new GeocoderConfigurationError(
          'nominatim',
          `${error.message} (Nominatim blocks requests without an identifying GEOCODER_USER_AGENT or over its usage policy)`,
        );
      }
      throw error;
    }
    if (!Array.isArray(body)) {
      throw new GeocoderUnavailable('nominatim', 'invalid_response', 'search answer is not a JSON array');
    }
    const place = body[0] as NominatimPlace | undefined;
    if (place === undefined) return null;
    const location = toLocation(place.lat, place.lon);
    if (location === null) {
      throw new GeocoderUnavailable(
        'nominatim',
        'invalid_response',
        `result has no valid coordinates (lat ${JSON.stringify(place.lat)}, lon ${JSON.stringify(place.lon)})`,
      );
    }
    return {
      location,
      displayName: typeof place.display_name === 'string' ? place.display_name : address,
      provider: 'nominatim',
      attribution: typeof place.licence === 'string' && place.licence !== '' ? place.licence : OSM_ATTRIBUTION,
    };
  }

  return {
    provider: 'nominatim',
    async geocode(address, geocodeOptions = {}) {
      const query = address.trim().replace(/\s+/g, ' ');
      if (query === '') return null;
      return cache.lookup(cacheKeyOf(query, geocodeOptions), () => search(query, geocodeOptions));
    },
  };
}
