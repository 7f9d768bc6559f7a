import type { Upcaster } from '../shared/upcaster.js';

export const bookingUpcasters: Upcaster[] = [
  {
    type: 'BookingNoShow',
    fromVersion: 1,
    // No-shows were recorded without a reason before version 2.
    upcast: (data) => ({ reason: null, ...(data as object) }),
  },
];
