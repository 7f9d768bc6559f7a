/**
 * The geocoding port: turns a postal address into a point. A room or exam venue created with an
 * address and no location asks the configured geocoder; with none configured (`GEOCODER=none`) the
 * caller answers 422 and asks for a location. Adapters: Nominatim (`nominatim.ts`) and the Google
 * Geocoding API (`googleMaps.ts`), both passing `test/contracts/geocoder.contract.ts` when reachable.
 */

export type GeocoderProvider = 'nominatim' | 'google';

export interface GeocodeOptions {
  /** ISO 3166-1 alpha-2 codes (`it`, `FR`): only results in these countries. */
  countryCodes?: string[];
  /** Preferred language of `displayName` (BCP 47, e.g. `it`, `en-GB`). */
  language?: string;
}

export interface GeocodeResult {
  location: { lat: number; lng: number };
  /** The provider's formatted name of what it found (not necessarily the address asked for). */
  displayName: string;
  provider: GeocoderProvider;
  /**
   * 0..1, how precisely the point matches the address, where the provider says so (Google's
   * `location_type` and `partial_match`). Nominatim reports no such thing, so it is left out.
   */
  confidence?: number;
  /** Attribution the provider's licence requires wherever the result is shown (OpenStreetMap: ODbL). */
  attribution?: string;
}

export interface Geocoder {
  readonly provider: GeocoderProvider;
  /**
   * The best match for `address`, or `null` when the provider knows no such place. Throws
   * `GeocoderUnavailable` when the provider cannot answer now (the caller answers 503 with
   * `Retry-After`) and `GeocoderConfigurationError` when it refuses our requests (bad key, bad URL).
   */
  geocode(address: string, options?: GeocodeOptions): Promise<GeocodeResult | null>;
}

export type UnavailableReason = 'network' | 'timeout' | 'server_error' | 'rate_limited' | 'invalid_response';

/** The provider cannot answer now; asking again later may work. Map to 503 with `Retry-After`. */
export class GeocoderUnavailable extends Error {
  readonly kind = 'GeocoderUnavailable' as const;
  constructor(
    readonly provider: GeocoderProvider,
    readonly reason: UnavailableReason,
    message: string,
    /** Seconds after which a retry makes sense: the provider's `Retry-After` where it sent one. */
    readonly retryAfterSeconds = 5,
    options?: { cause?: unknown },
  ) {
    super(`${provider} geocoder unavailable (${reason}): ${message}`, options);
    this.name = 'GeocoderUnavailable';
  }
}

/**
 * The provider refuses our requests as made (denied key, malformed request, wrong URL), or the
 * geocoder settings are incomplete. Retrying will not help: an operator has to fix the settings.
 */
export class GeocoderConfigurationError extends Error {
  readonly kind = 'GeocoderConfigurationError' as const;
  constructor(
    readonly provider: GeocoderProvider | 'config',
    message: string,
  ) {
    super(message);
    this.name = 'GeocoderConfigurationError';
  }
}

/** The geocoder settings, as the validated config object carries them (keys named like the environment). */
export interface GeocoderConfig {
  GEOCODER: 'none' | GeocoderProvider;
  /** Base URL of a Nominatim instance, e.g. https://nominatim.openstreetmap.org. */
  NOMINATIM_URL?: string | undefined;
  /** Minimum spacing of Nominatim requests in this process (the public instance allows 1 per second). */
  NOMINATIM_MIN_INTERVAL_MS?: number | undefined;
  GOOGLE_MAPS_API_KEY?: string | undefined;
  /** Identifies Roomline to the provider (Nominatim's usage policy requires it). */
  GEOCODER_USER_AGENT?: string | undefined;
  GEOCODER_TIMEOUT_MS?: number | undefined;
  GEOCODER_CACHE_SIZE?: number | undefined;
  GEOCODER_CACHE_TTL_SECONDS?: number | undefined;
}

export const GEOCODER_DEFAULTS = {
  NOMINATIM_MIN_INTERVAL_MS: 1000,
  GEOCODER_USER_AGENT: 'Roomline/0.1 (room booking platform; geocoding of room and venue addresses)',
  GEOCODER_TIMEOUT_MS: 5000,
  GEOCODER_CACHE_SIZE: 5000,
  GEOCODER_CACHE_TTL_SECONDS: 86_400,
} as const;

/** Normalises an address and its options into one cache key: case and spacing do not make a new lookup. */
export function cacheKeyOf(address: string, options: GeocodeOptions = {}): string {
  const countries = (options.countryCodes ?? []).map((c) => c.trim().toLowerCase()).sort();
  return [
    address.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase(),
    countries.join(','),
    (options.language ?? '').trim().toLowerCase(),
  ].join('\u0000');
}

/** Validates coordinates read from a provider's answer; `null` when they are not a point on Earth. */
export function toLocation(lat: unknown, lng: unknown): { lat: number; lng: number } | null {
  const parse = (value: unknown) =>
    typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  const latitude = parse(lat);
  const longitude = parse(lng);
  if (!Number.isFinite(latitude) || latitude < -90 || latitude > 90) return null;
  if (!Number.isFinite(longitude) || longitude < -180 || longitude > 180) return null;
  return { lat: latitude, lng: longitude };
}
