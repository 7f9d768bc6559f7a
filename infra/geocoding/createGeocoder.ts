import type { Redis } from 'ioredis';
import { GEOCODER_DEFAULTS, type Geocoder, type GeocoderConfig, GeocoderConfigurationError } from './geocoder.js';
import { createGoogleMapsGeocoder } from './googleMaps.js';
import { createNominatimGeocoder } from './nominatim.js';
import { RedisIntervalLimiter } from './redisIntervalLimiter.js';

/**
 * The geocoder the settings ask for, or `null` for `GEOCODER=none` (the caller then requires a
 * location with every address). Throws `GeocoderConfigurationError` naming the missing setting.
 * Adapters made here share one Nominatim rate limiter per instance URL across the process.
 */
export function createGeocoder(
  config: GeocoderConfig,
  /** With it, the Nominatim rate is shared by every process using this Redis (the public policy is per application). */
  redis?: Redis,
): Geocoder | null {
  const timeoutMs = config.GEOCODER_TIMEOUT_MS ?? GEOCODER_DEFAULTS.GEOCODER_TIMEOUT_MS;
  const cacheSize = config.GEOCODER_CACHE_SIZE ?? GEOCODER_DEFAULTS.GEOCODER_CACHE_SIZE;
  const cacheTtlMs = (config.GEOCODER_CACHE_TTL_SECONDS ?? GEOCODER_DEFAULTS.GEOCODER_CACHE_TTL_SECONDS) * 1000;
  const userAgent = config.GEOCODER_USER_AGENT ?? GEOCODER_DEFAULTS.GEOCODER_USER_AGENT;
  switch (config.GEOCODER) {
    case 'none':
      return null;
    case 'nominatim':
      if (!config.NOMINATIM_URL?.trim()) {
        throw new GeocoderConfigurationError(
          'config',
          'GEOCODER=nominatim needs NOMINATIM_URL, the base URL of a Nominatim instance ' +
            '(https://nominatim.openstreetmap.org for the public one, limited to 1 request/second), or set GEOCODER=none',
        );
      }
      return createNominatimGeocoder({
        baseUrl: config.NOMINATIM_URL.trim(),
        userAgent,
        timeoutMs,
        minIntervalMs: config.NOMINATIM_MIN_INTERVAL_MS ?? GEOCODER_DEFAULTS.NOMINATIM_MIN_INTERVAL_MS,
        cacheSize,
        cacheTtlMs,
        limiter: redis
          ? new RedisIntervalLimiter(
              redis,
              `roomline:geocoder:nominatim:${new URL(config.NOMINATIM_URL.trim()).origin}`,
              config.NOMINATIM_MIN_INTERVAL_MS ?? GEOCODER_DEFAULTS.NOMINATIM_MIN_INTERVAL_MS,
            )
          : undefined,
      });
    case 'google':
      if (!config.GOOGLE_MAPS_API_KEY?.trim()) {
        throw new GeocoderConfigurationError(
          'config',
          'GEOCODER=google needs GOOGLE_MAPS_API_KEY, a key with the Geocoding API enabled, or set GEOCODER=none',
        );
      }
      return createGoogleMapsGeocoder({
        apiKey: config.GOOGLE_MAPS_API_KEY,
        userAgent,
        timeoutMs,
        cacheSize,
        cacheTtlMs,
      });
    default: {
      const unknown: never = config.GEOCODER;
      throw new GeocoderConfigurationError(
        'config',
        `GEOCODER must be none, nominatim or google, not ${JSON.stringify(unknown)}`,
      );
    }
  }
}
