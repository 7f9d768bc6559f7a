import { Type } from '@mikro-orm/core';
import type { GeoPoint } from '../../domain/shared/values.js';

/** A WGS 84 point stored as PostGIS `geometry(Point, 4326)`, read and written as `{ lat, lng }`. */
export class PointType extends Type<GeoPoint | null, string | null> {
  override convertToDatabaseValue(value: GeoPoint | null): string | null {
    return value ? `SRID=4326;POINT(${value.lng} ${value.lat})` : null;
  }

  override convertToJSValue(value: string | GeoPoint | null): GeoPoint | null {
    if (value === null || value === undefined) return null;
    if (typeof value === 'object') return value;
    const match = /POINT\((-?[\d.e+-]+) (-?[\d.e+-]+)\)/i.exec(value);
    return match ? { lng: Number(match[1]), lat: Number(match[2]) } : null;
  }

  override convertToJSValueSQL(key: string): string {
    return `ST_AsText(${key})`;
  }

  override convertToDatabaseValueSQL(key: string): string {
    return `ST_GeomFromEWKT(${key})`;
  }

  override getColumnType(): string {
    return 'geometry(Point, 4326)';
  }

  override compareAsType(): string {
    return 'string';
  }
}
