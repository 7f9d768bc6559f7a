import type { GeoPoint } from './values.js';

/** The mean Earth radius (IUGG), in metres. */
export const EARTH_RADIUS_METERS = 6_371_008.8;
/** Metres per degree of latitude on that sphere. */
export const METERS_PER_DEGREE = (EARTH_RADIUS_METERS * Math.PI) / 180;

/**
 * Distance in metres by the equirectangular approximation: within 0.1 % of the great-circle distance up to
 * the 50 km a search may cover (away from the poles and the antimeridian), and cheap enough to compute for
 * thousands of rooms per search. The search index computes the same formula in SQL.
 */
export function distanceMeters(a: GeoPoint, b: GeoPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = Math.cos(a.lat * rad) * (b.lng - a.lng) * rad;
  return EARTH_RADIUS_METERS * Math.sqrt(dLat * dLat + dLng * dLng);
}
