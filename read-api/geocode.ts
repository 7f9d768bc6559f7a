import type { GeoPoint } from '../domain/shared/values.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';

/**
 * The location of an address given without one: the configured geocoder finds it (422 when it cannot), and
 * with no geocoder configured the caller is asked for the location. An unavailable geocoder answers 503
 * (read-api/errors.ts).
 */
export async function locate(deps: Pick<AppDeps, 'geocoder'>, address: string): Promise<GeoPoint> {
  if (!deps.geocoder) {
    throw new ApiError(422, 'LOCATION_REQUIRED', 'give the location ({ lat, lng }): no geocoder is configured');
  }
  const found = await deps.geocoder.geocode(address);
  if (!found) {
    throw new ApiError(422, 'ADDRESS_NOT_FOUND', 'the address could not be located: give the location ({ lat, lng })', {
      address,
    });
  }
  return found.location;
}
