import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGeocoder } from '../../../infra/geocoding/createGeocoder.js';
import {
  cacheKeyOf,
  GEOCODER_DEFAULTS,
  GeocoderConfigurationError,
  toLocation,
} from '../../../infra/geocoding/geocoder.js';
import { TtlCache } from '../../../infra/geocoding/ttlCache.js';
import { fixture, type LocalGeocodingServer, startLocalGeocodingServer } from './localGeocodingServer.js';

// createGeocoder against a real local HTTP server answering in Nominatim's documented format.

let server: LocalGeocodingServer;
beforeAll(async () => {
  server = await startLocalGeocodingServer(() => ({ body: fixture('nominatim-search-piazza-maggiore.json') }));
});
afterAll(async () => {
  await server.close();
});

describe('createGeocoder', () => {
  it('gives no geocoder for GEOCODER=none', () => {
    expect(createGeocoder({ GEOCODER: 'none' })).toBeNull();
  });

  it('refuses nominatim without NOMINATIM_URL, naming the setting', () => {
    for (const url of [undefined, '', '  ']) {
      expect(() => createGeocoder({ GEOCODER: 'nominatim', NOMINATIM_URL: url })).toThrow(GeocoderConfigurationError);
      expect(() => createGeocoder({ GEOCODER: 'nominatim', NOMINATIM_URL: url })).toThrow(
        /GEOCODER=nominatim needs NOMINATIM_URL/,
      );
    }
  });

  it('refuses google without GOOGLE_MAPS_API_KEY, naming the setting', () => {
    expect(() => createGeocoder({ GEOCODER: 'google' })).toThrow(/GEOCODER=google needs GOOGLE_MAPS_API_KEY/);
    expect(() => createGeocoder({ GEOCODER: 'google', GOOGLE_MAPS_API_KEY: '' })).toThrow(GeocoderConfigurationError);
  });

  it('refuses an unknown GEOCODER', () => {
    expect(() => createGeocoder({ GEOCODER: 'bing' as 'none' })).toThrow(/GEOCODER must be none, nominatim or google/);
  });

  it('builds a google geocoder from a key', () => {
    expect(createGeocoder({ GEOCODER: 'google', GOOGLE_MAPS_API_KEY: 'AIza-test' })?.provider).toBe('google');
  });

  it('builds a working nominatim geocoder that sends the default User-Agent', async () => {
    const geocoder = createGeocoder({ GEOCODER: 'nominatim', NOMINATIM_URL: server.origin });
    expect(geocoder?.provider).toBe('nominatim');
    expect((await geocoder!.geocode('Piazza Maggiore, Bologna'))?.location.lat).toBeCloseTo(44.4937738, 6);
    expect(server.requests.at(-1)!.headers['user-agent']).toBe(GEOCODER_DEFAULTS.GEOCODER_USER_AGENT);
  });
});

describe('geocoder helpers', () => {
  it('toLocation parses numbers and numeric strings within range only', () => {
    expect(toLocation('44.4937738', '11.3430347')).toEqual({ lat: 44.4937738, lng: 11.3430347 });
    expect(toLocation(-90, 180)).toEqual({ lat: -90, lng: 180 });
    expect(toLocation('90.0001', 0)).toBeNull();
    expect(toLocation(0, '-180.5')).toBeNull();
    expect(toLocation('', 0)).toBeNull();
    expect(toLocation(null, 0)).toBeNull();
    expect(toLocation(Number.NaN, 0)).toBeNull();
    expect(toLocation('Infinity', 0)).toBeNull();
  });

  it('cacheKeyOf ignores case, spacing and country order', () => {
    expect(cacheKeyOf(' Via  Zamboni 33 ', { countryCodes: ['IT', 'fr'] })).toBe(
      cacheKeyOf('via zamboni 33', { countryCodes: ['FR', 'it'] }),
    );
    expect(cacheKeyOf('Via Zamboni 33', { language: 'it' })).not.toBe(cacheKeyOf('Via Zamboni 33', { language: 'en' }));
  });

  it('TtlCache expires entries and evicts the least recently used', () => {
    let now = 0;
    const cache = new TtlCache<string | null>(2, 1000, () => now);
    cache.set('a', 'A');
    cache.set('b', null);
    expect(cache.get('a')).toBe('A');
    cache.set('c', 'C');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.size).toBe(2);
    now = 1000;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
