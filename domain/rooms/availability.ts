import { DomainError } from '../shared/errors.js';
import { type DateRange, dateOfDay, dayNumber, normalizeRanges } from '../shared/values.js';

/** How far ahead a landlord may block nights when the configuration says nothing else. */
export const DEFAULT_AVAILABILITY_HORIZON_DAYS = 730;

const DAY_MS = 86_400_000;

type Days = { from: number; to: number };

const toDays = (ranges: readonly DateRange[]): Days[] =>
  ranges.map((r) => ({ from: dayNumber(r.from), to: dayNumber(r.to) }));
const toDates = (ranges: readonly Days[]): DateRange[] =>
  ranges.map((r) => ({ from: dateOfDay(r.from), to: dateOfDay(r.to) }));

/** The parts of sorted, merged ranges within `[from, to)`. */
function clip(ranges: readonly Days[], from: number, to: number): Days[] {
  return ranges.map((r) => ({ from: Math.max(r.from, from), to: Math.min(r.to, to) })).filter((r) => r.to > r.from);
}

/** The nights of `ranges` not in `minus` (both sorted and merged). */
function subtract(ranges: readonly Days[], minus: readonly Days[]): Days[] {
  const left: Days[] = [];
  for (const range of ranges) {
    let from = range.from;
    for (const cut of minus) {
      if (cut.to <= from || cut.from >= range.to) continue;
      if (cut.from > from) left.push({ from, to: cut.from });
      from = Math.max(from, cut.to);
    }
    if (from < range.to) left.push({ from, to: range.to });
  }
  return left;
}

/**
 * The blocked dates after a landlord sends a new list, decided at `now`. The past is history: nights
 * before today that were blocked stay blocked whether or not the list repeats them, and a night before
 * today that was not blocked cannot become so (BLOCK_IN_PAST). Ahead, a block may reach at most
 * `horizonDays` from today (`to` no later than today + horizon: BLOCK_BEYOND_HORIZON), except where the
 * nights beyond were already blocked (blocks made before the limit existed can be sent again as they are).
 */
export function nextBlockedDates(
  current: readonly DateRange[],
  requested: readonly DateRange[],
  now: string,
  horizonDays: number,
): DateRange[] {
  const today = Math.floor(Date.parse(now) / DAY_MS);
  const horizon = today + horizonDays;
  const wanted = toDays(normalizeRanges(requested));
  const before = toDays(current);

  const pastBefore = clip(before, Number.NEGATIVE_INFINITY, today);
  const newPast = subtract(clip(wanted, Number.NEGATIVE_INFINITY, today), pastBefore);
  if (newPast.length > 0) {
    throw new DomainError('BLOCK_IN_PAST', 'validation', 'blocked dates cannot start before today', {
      today: dateOfDay(today),
      ranges: toDates(newPast),
    });
  }
  const beyond = subtract(
    clip(wanted, horizon, Number.POSITIVE_INFINITY),
    clip(before, horizon, Number.POSITIVE_INFINITY),
  );
  if (beyond.length > 0) {
    throw new DomainError(
      'BLOCK_BEYOND_HORIZON',
      'validation',
      `blocked dates may reach at most ${horizonDays} days ahead (to ${dateOfDay(horizon)} at the latest)`,
      { horizonDays, latestTo: dateOfDay(horizon), ranges: toDates(beyond) },
    );
  }
  return normalizeRanges([...toDates(pastBefore), ...toDates(clip(wanted, today, Number.POSITIVE_INFINITY))]);
}
