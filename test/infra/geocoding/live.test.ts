import { describe, it } from 'vitest';
import { createGeocoder } from '../../../infra/geocoding/createGeocoder.js';
import { GEOCODER_DEFAULTS, type Geocoder } from '../../../infra/geocoding/geocoder.js';
import { geocoderContract } from '../../contracts/geocoder.contract.js';

// The contract against the real services. This machine reaches no internet besides the npm registry,
// so each suite runs only when its service is configured and is skipped with the reason otherwise.

const nominatimUrl = process.env.NOMINATIM_URL;
if (nominatimUrl) {
  let geocoder: Geocoder | undefined;
  geocoderContract('nominatim', () => {
    geocoder ??= createGeocoder({
      GEOCODER: 'nominatim',
      NOMINATIM_URL: nominatimUrl,
      GEOCODER_USER_AGENT: process.env.GEOCODER_USER_AGENT ?? GEOCODER_DEFAULTS.GEOCODER_USER_AGENT,
      GEOCODER_TIMEOUT_MS: 15_000,
    })!;
    return geocoder;
  });
} else {
  describe('geocoder contract: nominatim', () => {
    it.skip('skipped: NOMINATIM_URL is not set (no Nominatim instance can be reached from this machine; set NOMINATIM_URL=https://nominatim.openstreetmap.org, and GEOCODER_USER_AGENT, to run the contract against it)', () => {});
  });
  console.warn(
    '[geocoder contract: nominatim] skipped: NOMINATIM_URL is not set, and Nominatim cannot be reached from this machine',
  );
}

const googleKey = process.env.GOOGLE_MAPS_API_KEY;
if (googleKey) {
  let geocoder: Geocoder | undefined;
  geocoderContract('google', () => {
    geocoder ??= createGeocoder({ GEOCODER: 'google', GOOGLE_MAPS_API_KEY: googleKey, GEOCODER_TIMEOUT_MS: 15_000 })!;
    return geocoder;
  });
} else {
  describe('geocoder contract: google', () => {
    it.skip('skipped: GOOGLE_MAPS_API_KEY is not set (the Google Geocoding API cannot be reached from this machine; set GOOGLE_MAPS_API_KEY to run the contract against it)', () => {});
  });
  console.warn(
    '[geocoder contract: google] skipped: GOOGLE_MAPS_API_KEY is not set, and the Google Geocoding API cannot be reached from this machine',
  );
}
