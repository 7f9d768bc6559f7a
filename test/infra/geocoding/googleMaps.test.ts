import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GeocoderConfigurationError, GeocoderUnavailable } from '../../../infra/geocoding/geocoder.js';
import { createGoogleMapsGeocoder, type GoogleMapsOptions } from '../../../infra/geocoding/googleMaps.js';
import {
  closedPortUrl,
  fixture,
  type LocalGeocodingServer,
  type Responder,
  startLocalGeocodingServer,
} from './localGeocodingServer.js';

// The adapter against a real local HTTP server answering in the Google Geocoding API's documented JSON
// format (fixtures/google-*.json); live.test.ts runs the contract against Google when a key is configured.

const API_KEY = 'AIzaTest-not-a-real-key-0123456789';
const PATH = '/maps/api/geocode/json';

/** Answers like Google: the Piazza Maggiore fixture for an address naming it, ZERO_RESULTS otherwise. */
const likeGoogle: Responder = (request) => {
  if (request.url.pathname !== PATH) return { status: 404, body: '<html>Not Found</html>' };
  if (request.url.searchParams.get('key') !== API_KEY) return { body: fixture('google-request-denied.json') };
  const address = request.url.searchParams.get('address') ?? '';
  return {
    body: /piazza maggiore/i.test(address)
      ? fixture('google-ok-piazza-maggiore.json')
      : fixture('google-zero-results.json'),
  };
};

let server: LocalGeocodingServer;
beforeEach(async () => {
  server = await startLocalGeocodingServer(likeGoogle);
});
afterEach(async () => {
  await server.close();
});

const google = (options: Partial<GoogleMapsOptions> = {}) =>
  createGoogleMapsGeocoder({ apiKey: API_KEY, baseUrl: `${server.origin}${PATH}`, ...options });

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    (value) => {
      throw new Error(`expected a failure, got ${JSON.stringify(value)}`);
    },
    (error: Error) => error,
  );
}

/** A Google answer with status OK and one result built from the fixture. */
function okWith(change: (result: Record<string, unknown>) => void): unknown {
  const body = fixture('google-ok-piazza-maggiore.json') as { results: Array<Record<string, unknown>> };
  change(body.results[0]!);
  return body;
}

describe('google maps geocoder', () => {
  it('asks with the address and key and parses an OK answer', async () => {
    const result = await google().geocode('Piazza Maggiore,  Bologna', { countryCodes: ['it'], language: 'it' });
    expect(result).toEqual({
      location: { lat: 44.4938, lng: 11.343 },
      displayName: 'Piazza Maggiore, 40124 Bologna BO, Italy',
      provider: 'google',
      confidence: 0.6,
    });
    const params = Object.fromEntries(server.requests[0]!.url.searchParams);
    expect(params).toEqual({
      address: 'Piazza Maggiore, Bologna',
      components: 'country:IT',
      language: 'it',
      key: API_KEY,
    });
  });

  it('uses the public endpoint unless told otherwise', async () => {
    const { GOOGLE_GEOCODING_URL } = await import('../../../infra/geocoding/googleMaps.js');
    expect(GOOGLE_GEOCODING_URL).toBe('https://maps.googleapis.com/maps/api/geocode/json');
  });

  it('ZERO_RESULTS is null', async () => {
    expect(await google().geocode('qxzvvkj wplrrtt zzqxq')).toBeNull();
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['OVER_QUERY_LIMIT', 'rate_limited'],
    ['UNKNOWN_ERROR', 'server_error'],
  ])('%s is GeocoderUnavailable', async (status, reason) => {
    server.answer(() => ({ body: { results: [], status } }));
    const error = await failure(google().geocode('Piazza Maggiore'));
    expect(error).toBeInstanceOf(GeocoderUnavailable);
    expect(error).toMatchObject({ provider: 'google', reason });
  });

  it.each(['REQUEST_DENIED', 'INVALID_REQUEST', 'OVER_DAILY_LIMIT'])(
    '%s is a configuration error with Google’s message and without the key',
    async (status) => {
      server.answer(() => ({ body: { error_message: 'The provided API key is invalid.', results: [], status } }));
      const error = await failure(google().geocode('Piazza Maggiore'));
      expect(error).toBeInstanceOf(GeocoderConfigurationError);
      expect(error.message).toContain(status);
      expect(error.message).toContain('The provided API key is invalid.');
      expect(error.message).not.toContain(API_KEY);
    },
  );

  it('a wrong key is refused by the service as REQUEST_DENIED', async () => {
    const error = await failure(google({ apiKey: 'wrong' }).geocode('Piazza Maggiore'));
    expect(error).toBeInstanceOf(GeocoderConfigurationError);
  });

  it('an unknown status is an invalid response', async () => {
    server.answer(() => ({ body: { results: [], status: 'SOMETHING_NEW' } }));
    expect(await failure(google().geocode('Piazza Maggiore'))).toMatchObject({ reason: 'invalid_response' });
  });

  it.each([500, 503])('HTTP %i is GeocoderUnavailable', async (status) => {
    server.answer(() => ({ status, body: '<html>Server Error</html>' }));
    const error = await failure(google().geocode('Piazza Maggiore'));
    expect(error).toBeInstanceOf(GeocoderUnavailable);
    expect(error).toMatchObject({ reason: 'server_error' });
  });

  it('HTTP 429 is GeocoderUnavailable with its Retry-After', async () => {
    server.answer(() => ({ status: 429, body: 'slow down', headers: { 'retry-after': '7' } }));
    expect(await failure(google().geocode('Piazza Maggiore'))).toMatchObject({
      reason: 'rate_limited',
      retryAfterSeconds: 7,
    });
  });

  it('a slow answer times out, and a refused connection is unavailable, neither naming the key', async () => {
    server.answer(() => ({ delayMs: 3000, body: fixture('google-zero-results.json') }));
    const timeout = await failure(google({ timeoutMs: 200 }).geocode('Piazza Maggiore'));
    expect(timeout).toMatchObject({ reason: 'timeout' });
    expect(timeout.message).not.toContain(API_KEY);

    const refused = await failure(google({ baseUrl: `${await closedPortUrl()}${PATH}` }).geocode('Piazza Maggiore'));
    expect(refused).toBeInstanceOf(GeocoderUnavailable);
    expect(refused).toMatchObject({ reason: 'network' });
    expect(refused.message).not.toContain(API_KEY);
  });

  it.each([
    ['a latitude beyond 90', { lat: 95, lng: 11.34 }],
    ['a longitude beyond 180', { lat: 44.49, lng: -181 }],
    ['a latitude that is no number', { lat: 'north', lng: 11.34 }],
    ['no location', undefined],
  ])('rejects a result with %s', async (_, location) => {
    server.answer(() => ({
      body: okWith((result) => {
        (result.geometry as Record<string, unknown>).location = location;
      }),
    }));
    const error = await failure(google().geocode('Piazza Maggiore'));
    expect(error).toBeInstanceOf(GeocoderUnavailable);
    expect(error).toMatchObject({ reason: 'invalid_response' });
  });

  it('rates a rooftop match above a partial one', async () => {
    server.answer(() => ({
      body: okWith((result) => {
        (result.geometry as Record<string, unknown>).location_type = 'ROOFTOP';
      }),
    }));
    expect((await google().geocode('Via Zamboni 33, Bologna'))?.confidence).toBe(1);
    server.answer(() => ({
      body: okWith((result) => {
        result.partial_match = true;
      }),
    }));
    expect((await google().geocode('Via Zambooni 33, Bologna'))?.confidence).toBe(0.3);
  });

  it('with several countries, biases to the first and keeps only results in one of them', async () => {
    const { results: inUs } = okWith((result) => {
      result.formatted_address = 'Piazza Maggiore, Bologna, TX, USA';
      result.address_components = [{ long_name: 'United States', short_name: 'US', types: ['country', 'political'] }];
    }) as { results: unknown[] };
    const { results: inItaly } = okWith(() => {}) as { results: unknown[] };
    server.answer(() => ({ body: { results: [...inUs, ...inItaly], status: 'OK' } }));
    const result = await google().geocode('Piazza Maggiore, Bologna', { countryCodes: ['fr', 'it'] });
    expect(result?.displayName).toBe('Piazza Maggiore, 40124 Bologna BO, Italy');
    const params = server.requests[0]!.url.searchParams;
    expect(params.get('region')).toBe('fr');
    expect(params.has('components')).toBe(false);
    expect(await google().geocode('Piazza Maggiore, Bologna', { countryCodes: ['fr', 'de'] })).toBeNull();
  });

  it('answers a repeated address from its cache without a request', async () => {
    const geocoder = google();
    const first = await geocoder.geocode('Piazza Maggiore, Bologna');
    expect(await geocoder.geocode('PIAZZA MAGGIORE, Bologna')).toEqual(first);
    expect(server.requests).toHaveLength(1);
  });

  it('refuses an empty key', () => {
    expect(() => google({ apiKey: ' ' })).toThrow(GeocoderConfigurationError);
  });
});
