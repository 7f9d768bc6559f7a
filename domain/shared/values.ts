import { DomainError } from './errors.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether text holds a UTF-16 surrogate without its pair: no character at all, and no UTF-8 for it. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

export interface GeoPoint {
  lat: number;
  lng: number;
}

export function assertGeoPoint(point: GeoPoint, field = 'location'): void {
  if (!Number.isFinite(point.lat) || point.lat < -90 || point.lat > 90) {
    throw new DomainError('INVALID_LOCATION', 'validation', `${field}.lat must be within [-90, 90]`, { field });
  }
  if (!Number.isFinite(point.lng) || point.lng < -180 || point.lng > 180) {
    throw new DomainError('INVALID_LOCATION', 'validation', `${field}.lng must be within [-180, 180]`, { field });
  }
}

/** Money in minor units (4500 EUR = 45.00 EUR). */
export interface Money {
  amount: number;
  currency: string;
}

export function assertMinorUnits(amount: number, field: string): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new DomainError('INVALID_AMOUNT', 'validation', `${field} must be a positive whole number of minor units`, {
      field,
    });
  }
}

export function assertCurrency(currency: string): void {
  if (!/^[A-Z]{3}$/.test(currency)) {
    throw new DomainError('INVALID_CURRENCY', 'validation', 'currency must be an ISO 4217 code such as EUR', {
      currency,
    });
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a calendar date `YYYY-MM-DD`, or NaN when it is not a real date. */
export function dayNumber(date: string): number {
  const match = DATE.exec(date);
  if (!match) return Number.NaN;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== Number(match[1]) ||
    check.getUTCMonth() + 1 !== Number(match[2]) ||
    check.getUTCDate() !== Number(match[3])
  ) {
    return Number.NaN;
  }
  return ms / 86_400_000;
}

export function dateOfDay(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** Nights `[from, to)`: `to` is the check-out day, not a night. */
export interface DateRange {
  from: string;
  to: string;
}

/** Validates, sorts and merges overlapping or touching ranges. */
export function normalizeRanges(ranges: readonly DateRange[], field = 'blocked'): DateRange[] {
  const days = ranges.map((range, index) => {
    const from = dayNumber(range.from);
    const to = dayNumber(range.to);
    if (Number.isNaN(from) || Number.isNaN(to)) {
      throw new DomainError('INVALID_DATE', 'validation', `${field}[${index}] must hold real dates as YYYY-MM-DD`, {
        index,
      });
    }
    if (to <= from) {
      throw new DomainError('INVALID_DATE_RANGE', 'validation', `${field}[${index}]: "to" must be after "from"`, {
        index,
      });
    }
    return { from, to };
  });
  days.sort((a, b) => a.from - b.from);
  const merged: Array<{ from: number; to: number }> = [];
  for (const range of days) {
    const last = merged[merged.length - 1];
    if (last && range.from <= last.to) last.to = Math.max(last.to, range.to);
    else merged.push({ ...range });
  }
  return merged.map((r) => ({ from: dateOfDay(r.from), to: dateOfDay(r.to) }));
}
