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

export const GOOGLE_GEOCODING_URL = 'https://maps.googleapis.com/maps/api/geocode/json';

export interface GoogleMapsOptions {
  apiKey: string;
  /** The Geocoding API endpoint; overridden by tests (a local server) and by egress proxies. */
  baseUrl?: string;
  /** Sent for the logs of whoever runs the proxy or the key; Google does not require it. */
  userAgent?: string;
  /** Default 5000. */
  timeoutMs?: number;
  /** Default 5000 entries; 0 disables the cache. */
  cacheSize?: number;
  /** Default one day. Google's terms allow caching coordinates for at most 30 days. */
  cacheTtlMs?: number;
}

/** The fields we read (https://developers.google.com/maps/documentation/geocoding/requests-geocoding#GeocodingResponses). */
interface GoogleGeocodeResponse {
  status?: unknown;
  error_message?: unknown;
  results?: Array<{
    formatted_address?: unknown;
    partial_match?: unknown;
    address_components?: Array<{ short_name?: unknown; types?: unknown }>;
    geometry?: { location?: { lat?: unknown; lng?: unknown }; location_type?: unknown };
  }>;
}

const CONFIDENCE_OF_LOCATION_TYPE: Record<string, number> = {
  ROOFTOP: 1,
  RANGE_INTERPOLATED: 0.8,
  GEOMETRIC_CENTER: 0.6,
  APPROXIMATE: 0.4,
};

/** A geocoder over the Google Geocoding API. */
export function createGoogleMapsGeocoder(options: GoogleMapsOptions): Geocoder {
  const apiKey = options.apiKey.trim();
  if (apiKey === '') throw new GeocoderConfigurationError('google', 'GOOGLE_MAPS_API_KEY is empty');
  let endpoint: URL;
  try {
    endpoint = new URL(options.baseUrl ?? GOOGLE_GEOCODING_URL);
  } catch {
    throw new GeocoderConfigurationError('google', `the Google Geocoding URL is not a URL: ${options.baseUrl}`);
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  const cache = new CachedLookups(options.cacheSize ?? 5000, options.cacheTtlMs ?? 86_400_000);
  const headers: Record<string, string> = options.userAgent ? { 'user-agent': options.userAgent } : {};

  async function search(address: string, geocodeOptions: GeocodeOptions): Promise<GeocodeResult | null> {
    const url = new URL(endpoint);
    url.searchParams.set('address', address);
    const countries = (geocodeOptions.countryCodes ?? []).map((c) => c.trim().toUpperCase()).filter(Boolean);
    // The components filter restricts to one country; with several, bias to the first and filter below.
    if (countries.length === 1) url.searchParams.set('components', `country:${countries[0]}`);
    else if (countries.length > 1) url.searchParams.set('region', countries[0]!.toLowerCase());
    if (geocodeOptions.language) url.searchParams.set('language', geocodeOptions.language);
    url.searchParams.set('key', apiKey);

    const { body } = await fetchProviderJson('google', url, { headers, timeoutMs, defaultRetryAfterSeconds: 5 });
    const response = (body ?? {}) as GoogleGeocodeResponse;
    const detail = typeof response.error_message === 'string' ? `: ${response.error_message}` : '';
    switch (response.status) {
      case 'OK':
        break;
      case 'ZERO_RESULTS':
        return null;
      case 'OVER_QUERY_LIMIT':
        throw new GeocoderUnavailable('google', 'rate_limited', `OVER_QUERY_LIMIT${detail}`, 2);
      case 'UNKNOWN_ERROR':
        throw new GeocoderUnavailable('google', 'server_error', `UNKNOWN_ERROR${detail}`, 2);
      case 'REQUEST_DENIED':
      case 'INVALID_REQUEST':
      // Google: key missing or invalid, billing not enabled, or a self-imposed usage cap reached.
      case 'OVER_DAILY_LIMIT':
        throw new GeocoderConfigurationError('google', `Google Geocoding API answered ${response.status}${detail}`);
      default:
        throw new GeocoderUnavailable(
          'google',
          'invalid_response',
          `unexpected status ${JSON.stringify(response.status)}${detail}`,
        );
    }
    if (!Array.isArray(response.results)) {
      throw new GeocoderUnavailable('google', 'invalid_response', 'status OK without a results array');
    }
    const wanted = new Set(countries);
    const result = response.results.find(
      (candidate) =>
        wanted.size <= 1 ||
        (candidate.address_components ?? []).some(
          (component) =>
            Array.isArray(component.types) &&
            component.types.includes('country') &&
            typeof component.short_name === 'string' &&
            wanted.has(component.short_name.toUpperCase()),
        ),
    );
    if (result === undefined) return null;
    const location = toLocation(result.geometry?.location?.lat, result.geometry?.location?.lng);
    if (location === null) {
      throw new GeocoderUnavailable(
        'google',
        'invalid_response',
        `result has no valid coordinates (${JSON.stringify(result.geometry?.location ?? null)})`,
      );
    }
    const locationType = typeof result.geometry?.location_type === 'string' ? result.geometry.location_type : '';
    const precision = CONFIDENCE_OF_LOCATION_TYPE[locationType] ?? 0.4;
    return {
      location,
      displayName: typeof result.formatted_address === 'string' ? result.formatted_address : address,
      provider: 'google',
      confidence: result.partial_match === true ? precision / 2 : precision,
    };
  }

  return {
    provider: 'google',
    async geocode(address, geocodeOptions = {}) {
      const query = address.trim().replace(/\s+/g, ' ');
      if (query === '') return null;
      return cache.lookup(cacheKeyOf(query, geocodeOptions), () => search(query, geocodeOptions));
    },
  };
}
