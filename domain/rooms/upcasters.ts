import type { Upcaster } from '../shared/upcaster.js';

export const roomUpcasters: Upcaster[] = [
  {
    type: 'RoomCreated',
    fromVersion: 1,
    // Before cancellation policies existed every room could be cancelled for free.
    upcast: (data) => ({ cancellationPolicy: 'flexible', ...(data as object) }),
  },
];
