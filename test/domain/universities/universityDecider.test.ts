import { randomUUID } from 'node:crypto';
import { describe, it } from 'vitest';
import type { UniversityContext } from '../../../domain/universities/commands.js';
import { candidateDecider, universityDecider } from '../../../domain/universities/decider.js';
import type { UniversityEvent } from '../../../domain/universities/events.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(universityDecider);
const candidates = deciderSpec(candidateDecider);
const NOW = '2027-01-10T09:00:00.000Z';
const universityId = randomUUID();
const venueId = randomUUID();
const sessionId = randomUUID();
const adminId = randomUUID();
const officialId = randomUUID();
const as = (role: UniversityContext['actorRole'], actorUniversityId: string | null = null, actorId = randomUUID()) =>
  ({ actorId, actorRole: role, now: NOW, actorUniversityId }) as UniversityContext;
const admin = as('admin', null, adminId);
const official = as('official', universityId, officialId);
const location = { lat: 44.4939, lng: 11.3428 };

const registered: UniversityEvent = {
  type: 'UniversityRegistered',
  data: { universityId, name: 'Università di Bologna', city: 'Bologna', country: 'IT', location, registeredAt: NOW },
};
const venueAdded: UniversityEvent = {
  type: 'ExamVenueAdded',
  data: {
    universityId,
    venueId,
    name: 'Aula Magna',
    address: 'Via Zamboni 33',
    location,
    capacity: 300,
    addedBy: officialId,
    addedAt: NOW,
  },
};
const scheduled: UniversityEvent = {
  type: 'ExamSessionScheduled',
  data: {
    universityId,
    sessionId,
    name: 'June finals',
    startsOn: '2027-06-14',
    endsOn: '2027-06-18',
    venueIds: [venueId],
    scheduledBy: officialId,
    scheduledAt: NOW,
  },
};

describe('RegisterUniversity', () => {
  const register = (context = admin, overrides = {}) =>
    ({
      type: 'RegisterUniversity',
      data: { universityId, name: ' Università di Bologna ', city: 'Bologna', country: 'it', location, ...overrides },
      context,
    }) as const;
  it('registers, trimmed, with an upper-case country', () => spec.given([]).when(register()).then([registered]));
  it('is done once', () => spec.given([registered]).when(register()).thenNothing());
  it('is for admins only', () => spec.given([]).when(register(official)).thenThrows('ADMINS_ONLY', 'forbidden'));
  it('checks the country and the location', () => {
    spec
      .given([])
      .when(register(admin, { country: 'ITA' }))
      .thenThrows('INVALID_COUNTRY', 'validation');
    spec
      .given([])
      .when(register(admin, { location: { lat: 91, lng: 0 } }))
      .thenThrows('INVALID_LOCATION', 'validation');
  });
});

describe('AddExamVenue', () => {
  const add = (context: UniversityContext = official, overrides = {}) =>
    ({
      type: 'AddExamVenue',
      data: {
        universityId,
        venueId,
        name: 'Aula Magna',
        address: 'Via Zamboni 33',
        location,
        capacity: 300,
        ...overrides,
      },
      context,
    }) as const;
  it('lets the university’s official add a venue', () => spec.given([registered]).when(add()).then([venueAdded]));
  it('adds it once', () => spec.given([registered, venueAdded]).when(add()).thenNothing());
  it('keeps officials of other universities and tenants out', () => {
    spec
      .given([registered])
      .when(add(as('official', randomUUID())))
      .thenThrows('NOT_YOUR_UNIVERSITY', 'forbidden');
    spec
      .given([registered])
      .when(add(as('official', null)))
      .thenThrows('NOT_YOUR_UNIVERSITY', 'forbidden');
    spec
      .given([registered])
      .when(add(as('landlord')))
      .thenThrows('NOT_YOUR_UNIVERSITY', 'forbidden');
  });
  it('needs the university and a sane capacity', () => {
    spec.given([]).when(add()).thenThrows('UNIVERSITY_NOT_FOUND', 'not_found');
    spec
      .given([registered])
      .when(add(official, { capacity: 0 }))
      .thenThrows('INVALID_CAPACITY', 'validation');
  });
});

describe('ScheduleExamSession', () => {
  const schedule = (overrides = {}, context: UniversityContext = official) =>
    ({
      type: 'ScheduleExamSession',
      data: {
        universityId,
        sessionId,
        name: 'June finals',
        startsOn: '2027-06-14',
        endsOn: '2027-06-18',
        venueIds: [venueId, venueId],
        ...overrides,
      },
      context,
    }) as const;
  it('schedules a session at the university’s venues (duplicates dropped)', () =>
    spec.given([registered, venueAdded]).when(schedule()).then([scheduled]));
  it('schedules it once', () => spec.given([registered, venueAdded, scheduled]).when(schedule()).thenNothing());
  it('takes only this university’s venues and dates in order', () => {
    spec
      .given([registered, venueAdded])
      .when(schedule({ venueIds: [randomUUID()] }))
      .thenThrows('UNKNOWN_VENUES', 'validation');
    spec
      .given([registered, venueAdded])
      .when(schedule({ endsOn: '2027-06-13' }))
      .thenThrows('INVALID_SESSION_DATES', 'validation');
    spec
      .given([registered, venueAdded])
      .when(schedule({ startsOn: '2027-02-30' }))
      .thenThrows('INVALID_DATE', 'validation');
  });
  it('is not for officials of another university', () =>
    spec
      .given([registered, venueAdded])
      .when(schedule({}, as('official', randomUUID())))
      .thenThrows('NOT_YOUR_UNIVERSITY', 'forbidden'));
});

describe('AssignCandidate', () => {
  const tenantId = randomUUID();
  const session = { universityId, sessionId, venueIds: [venueId], endsOn: '2027-06-18' };
  const assign = (context: UniversityContext, overrides = {}) =>
    ({ type: 'AssignCandidate', data: { tenantId, session, venueId, ...overrides }, context }) as const;
  const assigned = (by: string) => ({
    type: 'CandidateAssigned' as const,
    data: { tenantId, universityId, sessionId, venueId, assignedBy: by, assignedAt: NOW },
  });
  it('lets the tenant record their own venue, and the university’s official assign them', () => {
    candidates
      .given([])
      .when(assign(as('tenant', null, tenantId)))
      .then([assigned(tenantId)]);
    candidates
      .given([])
      .when(assign(official))
      .then([assigned(officialId)]);
  });
  it('records the same assignment once', () =>
    candidates
      .given([assigned(tenantId)])
      .when(assign(official))
      .thenNothing());
  it('refuses another tenant, another university’s official, a venue outside the session, an unknown session', () => {
    candidates
      .given([])
      .when(assign(as('tenant')))
      .thenThrows('NOT_YOUR_UNIVERSITY', 'forbidden');
    candidates
      .given([])
      .when(assign(as('official', randomUUID())))
      .thenThrows('NOT_YOUR_UNIVERSITY', 'forbidden');
    candidates
      .given([])
      .when(assign(official, { venueId: randomUUID() }))
      .thenThrows('VENUE_NOT_IN_SESSION', 'validation');
    candidates
      .given([])
      .when(assign(official, { session: null }))
      .thenThrows('EXAM_SESSION_NOT_FOUND', 'not_found');
  });
});
