import type { Upcaster } from '../shared/upcaster.js';

export const bookingUpcasters: Upcaster[] = [
  {
    type: 'BookingNoShow',
    fromVersion: 1,
    // No-shows were recorded without a reason before version 2.
    upcast: (data) => ({ reason: null, ...(data as object) }),
  },
  {
    type: 'NightsHeld',
    fromVersion: 1,
    // Holds made before they carried an expiry belong to recorded bookings, whose own expiry releases them.
    upcast: (data) => ({ expiresAt: null, ...(data as object) }),
  },
];
