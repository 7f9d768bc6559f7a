import type { Amenity } from '../rooms/amenities.js';

/**
 * How rooms are ranked for an exam candidate, each part and the whole in [0, 1]:
 *
 *   overall  = (wD · distance + wA · amenity + wR · review) / (wD + wA + wR)
 *   distance = 0.5 ^ (metres to the searched venue / half-distance)   (1 at the venue, ½ at the half-distance)
 *   amenity  = Σ weight of the room's amenities / Σ weight of every amenity in the catalogue
 *   review   = (bayesian mean − 1) / 4, bayesian mean = (C · m + Σ ratings) / (C + n)
 *
 * The Bayesian mean pulls a room with few reviews towards the prior mean m as if it had C more reviews of m,
 * so one five-star review does not beat fifty four-star ones. Until reviews exist every room has the prior.
 */
export interface RankingSettings {
  weights: { distance: number; amenity: number; review: number };
  /** Metres at which the distance score halves. */
  halfDistanceMeters: number;
  /** The prior mean rating m (1..5) and its weight C in reviews. */
  reviewPrior: { mean: number; weight: number };
}

export const DEFAULT_RANKING: RankingSettings = {
  weights: { distance: 0.5, amenity: 0.3, review: 0.2 },
  halfDistanceMeters: 2000,
  reviewPrior: { mean: 3.5, weight: 10 },
};

/** What an exam candidate needs most weighs most: a desk, quiet and wifi. */
export const AMENITY_WEIGHTS: Readonly<Record<Amenity, number>> = {
  desk: 3,
  quiet_hours: 3,
  wifi: 3,
  desk_lamp: 1.5,
  heating: 1.5,
  private_bathroom: 1.5,
  near_public_transport: 1.5,
  blackout_curtains: 1,
  linens: 1,
  kitchen: 1,
  air_conditioning: 1,
  printer: 1,
  lockable_room: 1,
  towels: 0.5,
  washing_machine: 0.5,
  breakfast: 0.5,
  coffee_machine: 0.5,
  parking: 0.5,
  bike_storage: 0.5,
  step_free_access: 0.5,
};

const TOTAL_AMENITY_WEIGHT = Object.values(AMENITY_WEIGHTS).reduce((a, b) => a + b, 0);

export function amenityScore(amenities: readonly string[]): number {
  const sum = [...new Set(amenities)].reduce((total, a) => total + (AMENITY_WEIGHTS[a as Amenity] ?? 0), 0);
  return sum / TOTAL_AMENITY_WEIGHT;
}

export function distanceScore(meters: number, settings: RankingSettings = DEFAULT_RANKING): number {
  return 0.5 ** (Math.max(0, meters) / settings.halfDistanceMeters);
}

export function bayesianRating(
  reviewCount: number,
  ratingSum: number,
  settings: RankingSettings = DEFAULT_RANKING,
): number {
  const { mean, weight } = settings.reviewPrior;
  return (weight * mean + ratingSum) / (weight + reviewCount);
}

export function reviewScore(reviewCount: number, ratingSum: number, settings: RankingSettings = DEFAULT_RANKING) {
  return (bayesianRating(reviewCount, ratingSum, settings) - 1) / 4;
}

export interface RankingBreakdown {
  overall: number;
  distance: number;
  amenity: number;
  review: number;
}

export function rankingScore(
  input: { distanceMeters: number; amenities: readonly string[]; reviewCount: number; ratingSum: number },
  settings: RankingSettings = DEFAULT_RANKING,
): RankingBreakdown {
  const distance = distanceScore(input.distanceMeters, settings);
  const amenity = amenityScore(input.amenities);
  const review = reviewScore(input.reviewCount, input.ratingSum, settings);
  const { weights } = settings;
  const total = weights.distance + weights.amenity + weights.review;
  const overall = (weights.distance * distance + weights.amenity * amenity + weights.review * review) / total;
  return { overall, distance, amenity, review };
}
