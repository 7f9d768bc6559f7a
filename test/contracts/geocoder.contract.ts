import { describe, expect, it } from 'vitest';
import type { Geocoder } from '../../infra/geocoding/geocoder.js';

/** Great-circle distance in kilometres (haversine). */
export function distanceKm(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const rad = (degrees: number) => (degrees * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

export const PIAZZA_MAGGIORE = { lat: 44.4939, lng: 11.3428 };

/** The suite every geocoder adapter passes against its live service (when that service is reachable). */
export function geocoderContract(adapter: string, open: () => Geocoder): void {
  describe(`geocoder contract: ${adapter}`, () => {
    it('resolves a well-known address to a point near it', async () => {
      const result = await open().geocode('Piazza Maggiore, Bologna');
      expect(result).not.toBeNull();
      expect(result!.provider).toBe(adapter);
      expect(result!.displayName).toMatch(/bologna/i);
      expect(distanceKm(result!.location, PIAZZA_MAGGIORE)).toBeLessThan(2);
    });

    it('keeps to the countries asked for (with a language given)', async () => {
      const result = await open().geocode('Piazza Maggiore, Bologna', { countryCodes: ['it'], language: 'it' });
      expect(result).not.toBeNull();
      expect(distanceKm(result!.location, PIAZZA_MAGGIORE)).toBeLessThan(2);
      // Outside the countries asked for, nothing near Bologna may come back (Google may answer the country itself).
      const elsewhere = await open().geocode('Piazza Maggiore, Bologna', { countryCodes: ['nz'] });
      if (elsewhere !== null) expect(distanceKm(elsewhere.location, PIAZZA_MAGGIORE)).toBeGreaterThan(1000);
    });

    it('answers null for an address that names no place', async () => {
      expect(await open().geocode('qxzvvkj wplrrtt zzqxq 99999 nowhere-at-all')).toBeNull();
    });
  });
}
