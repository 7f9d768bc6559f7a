import { describe, expect, it } from 'vitest';
import { cellOf, cellsCovering } from '../../../domain/search/cells.js';
import {
  amenityScore,
  bayesianRating,
  DEFAULT_RANKING,
  distanceScore,
  rankingScore,
  reviewScore,
} from '../../../domain/search/ranking.js';
import { distanceMeters } from '../../../domain/shared/geo.js';
import { seededRandom } from '../../../infra/demo/demoData.js';

describe('ranking', () => {
  it('halves the distance score at the half-distance and keeps it in (0, 1]', () => {
    expect(distanceScore(0)).toBe(1);
    expect(distanceScore(DEFAULT_RANKING.halfDistanceMeters)).toBeCloseTo(0.5, 12);
    expect(distanceScore(50_000)).toBeGreaterThan(0);
  });

  it('weighs what exam candidates need most: a desk beats parking, everything scores 1', () => {
    expect(amenityScore(['desk'])).toBeGreaterThan(amenityScore(['parking']));
    expect(amenityScore(['desk', 'desk'])).toBe(amenityScore(['desk']));
    expect(amenityScore([])).toBe(0);
    expect(amenityScore(['wifi', 'not-an-amenity'])).toBe(amenityScore(['wifi']));
  });

  it('does not let one five-star review beat fifty four-star ones (Bayesian mean)', () => {
    expect(bayesianRating(1, 5)).toBeLessThan(bayesianRating(50, 200));
    expect(bayesianRating(0, 0)).toBe(DEFAULT_RANKING.reviewPrior.mean);
    expect(reviewScore(0, 0)).toBeCloseTo((3.5 - 1) / 4, 12);
    expect(reviewScore(1_000_000, 5_000_000)).toBeCloseTo(1, 4);
  });

  it('combines the parts by the configured weights, always in [0, 1]', () => {
    const random = seededRandom(5);
    for (let i = 0; i < 200; i++) {
      const count = Math.floor(random() * 50);
      const breakdown = rankingScore({
        distanceMeters: random() * 50_000,
        amenities: random() < 0.5 ? ['desk', 'wifi'] : [],
        reviewCount: count,
        ratingSum: count * (1 + random() * 4),
      });
      for (const part of Object.values(breakdown)) {
        expect(part).toBeGreaterThanOrEqual(0);
        expect(part).toBeLessThanOrEqual(1);
      }
      const { weights } = DEFAULT_RANKING;
      const expected =
        (weights.distance * breakdown.distance +
          weights.amenity * breakdown.amenity +
          weights.review * breakdown.review) /
        (weights.distance + weights.amenity + weights.review);
      expect(breakdown.overall).toBeCloseTo(expected, 12);
    }
    const onlyDistance = { ...DEFAULT_RANKING, weights: { distance: 1, amenity: 0, review: 0 } };
    expect(rankingScore({ distanceMeters: 0, amenities: [], reviewCount: 0, ratingSum: 0 }, onlyDistance).overall).toBe(
      1,
    );
  });
});

describe('map cells for the search cache', () => {
  it('covers the cell of every point within the radius', () => {
    const random = seededRandom(9);
    for (let i = 0; i < 300; i++) {
      const center = { lat: -60 + random() * 120, lng: -170 + random() * 340 };
      const radius = 500 + random() * 49_500;
      const cells = new Set(cellsCovering(center, radius));
      const bearing = random() * 2 * Math.PI;
      const r = radius * Math.sqrt(random());
      const point = {
        lat: center.lat + (r * Math.cos(bearing)) / 111_195,
        lng: center.lng + (r * Math.sin(bearing)) / (111_195 * Math.cos((center.lat * Math.PI) / 180)),
      };
      if (distanceMeters(center, point) <= radius) expect(cells.has(cellOf(point))).toBe(true);
    }
  });
});
