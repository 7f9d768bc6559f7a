import type { DomainEvent } from '../shared/decider.js';
import type { GeoPoint } from '../shared/values.js';

/**
 * A university with its exam venues and exam sessions, one stream per university (`University-<id>`):
 * a session may only list venues of its own university, and that rule is checked inside one stream.
 */
export type UniversityRegistered = DomainEvent<
  'UniversityRegistered',
  { universityId: string; name: string; city: string; country: string; location: GeoPoint; registeredAt: string }
>;
export type ExamVenueAdded = DomainEvent<
  'ExamVenueAdded',
  {
    universityId: string;
    venueId: string;
    name: string;
    address: string;
    location: GeoPoint;
    capacity: number | null;
    addedBy: string;
    addedAt: string;
  }
>;
export type ExamSessionScheduled = DomainEvent<
  'ExamSessionScheduled',
  {
    universityId: string;
    sessionId: string;
    name: string;
    startsOn: string;
    endsOn: string;
    venueIds: string[];
    scheduledBy: string;
    scheduledAt: string;
  }
>;

export type UniversityEvent = UniversityRegistered | ExamVenueAdded | ExamSessionScheduled;

export const UniversityEventTypes = [
  'UniversityRegistered',
  'ExamVenueAdded',
  'ExamSessionScheduled',
] as const satisfies readonly UniversityEvent['type'][];

export const universitySchemaVersions = {
  UniversityRegistered: 1,
  ExamVenueAdded: 1,
  ExamSessionScheduled: 1,
} as const satisfies Record<UniversityEvent['type'], number>;

export const universityStreamId = (universityId: string) => `University-${universityId}`;

/**
 * Where a candidate sits an exam: one stream per tenant (`ExamCandidate-<tenantId>`), one assignment per
 * exam session (a later one for the same session replaces it).
 */
export type CandidateAssigned = DomainEvent<
  'CandidateAssigned',
  {
    tenantId: string;
    universityId: string;
    sessionId: string;
    venueId: string;
    assignedBy: string;
    assignedAt: string;
  }
>;
export type CandidateEvent = CandidateAssigned;
export const candidateSchemaVersions = { CandidateAssigned: 1 } as const;
export const candidateStreamId = (tenantId: string) => `ExamCandidate-${tenantId}`;
