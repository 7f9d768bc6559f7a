import { METERS_PER_DEGREE } from '../shared/geo.js';
import type { GeoPoint } from '../shared/values.js';

/**
 * The map cut into cells of 0.1° × 0.1° (about 11 km × 8 km in Europe). The search index records, per cell,
 * the position of its latest change; a cached search result is keyed by the versions of the cells its radius
 * touches, so a change elsewhere leaves it cached and a change inside it never lets it be served again.
 */
export const CELL_DEGREES = 0.1;

const index = (degrees: number) => Math.floor(degrees / CELL_DEGREES);

export function cellOf(point: GeoPoint): string {
  return `${index(point.lat)}:${index(point.lng)}`;
}

/** Every cell a circle's bounding box touches (a superset of the cells of the rooms it can find). */
export function cellsCovering(center: GeoPoint, radiusMeters: number): string[] {
  const latDelta = radiusMeters / METERS_PER_DEGREE;
  const lngDelta = latDelta / Math.max(0.01, Math.cos((center.lat * Math.PI) / 180));
  const cells: string[] = [];
  for (let lat = index(center.lat - latDelta); lat <= index(center.lat + latDelta); lat++) {
    for (let lng = index(center.lng - lngDelta); lng <= index(center.lng + lngDelta); lng++) {
      cells.push(`${lat}:${lng}`);
    }
  }
  return cells;
}
