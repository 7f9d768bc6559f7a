import type { Decider } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import { assertGeoPoint, dayNumber, type GeoPoint } from '../shared/values.js';
import type { AssignCandidate, UniversityCommand, UniversityContext } from './commands.js';
import {
  type CandidateEvent,
  candidateSchemaVersions,
  type UniversityEvent,
  universitySchemaVersions,
} from './events.js';

export interface VenueState {
  venueId: string;
  name: string;
  location: GeoPoint;
}

export interface SessionState {
  sessionId: string;
  name: string;
  startsOn: string;
  endsOn: string;
  venueIds: string[];
}

export interface UniversityState {
  status: 'none' | 'registered';
  universityId?: string;
  name?: string;
  venues: ReadonlyMap<string, VenueState>;
  sessions: ReadonlyMap<string, SessionState>;
}

export const initialUniversityState: UniversityState = { status: 'none', venues: new Map(), sessions: new Map() };

export const UNIVERSITY_LIMITS = { name: 200, address: 300, venuesPerSession: 100, sessionDays: 120 } as const;

function text(value: string, field: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > max) {
    throw new DomainError('INVALID_FIELD', 'validation', `${field} must be 1 to ${max} characters`, { field });
  }
  return trimmed;
}

/** Admins act for every university, officials for their own. */
function assertMayActFor(context: UniversityContext, universityId: string): void {
  if (context.actorRole === 'admin') return;
  if (context.actorRole === 'official' && context.actorUniversityId === universityId) return;
  throw new DomainError(
    'NOT_YOUR_UNIVERSITY',
    'forbidden',
    context.actorRole === 'official'
      ? 'officials act only for their own university'
      : 'only an official of this university or an admin may do this',
  );
}

export function decide(command: UniversityCommand, state: UniversityState): UniversityEvent[] {
  const { context } = command;
  switch (command.type) {
    case 'RegisterUniversity': {
      if (context.actorRole !== 'admin') {
        throw new DomainError('ADMINS_ONLY', 'forbidden', 'only admins register universities');
      }
      if (state.status !== 'none') return []; // a retry: already registered
      const { universityId, location } = command.data;
      assertGeoPoint(location);
      const country = command.data.country.trim().toUpperCase();
      if (!/^[A-Z]{2}$/.test(country)) {
        throw new DomainError('INVALID_COUNTRY', 'validation', 'country must be an ISO 3166-1 alpha-2 code such as IT');
      }
      return [
        {
          type: 'UniversityRegistered',
          data: {
            universityId,
            name: text(command.data.name, 'name', UNIVERSITY_LIMITS.name),
            city: text(command.data.city, 'city', UNIVERSITY_LIMITS.name),
            country,
            location,
            registeredAt: context.now,
          },
        },
      ];
    }
    case 'AddExamVenue': {
      if (state.status === 'none') throw new DomainError('UNIVERSITY_NOT_FOUND', 'not_found', 'university not found');
      assertMayActFor(context, state.universityId!);
      const { venueId, location } = command.data;
      if (state.venues.has(venueId)) return [];
      assertGeoPoint(location);
      const capacity = command.data.capacity ?? null;
      if (capacity !== null && (!Number.isSafeInteger(capacity) || capacity < 1)) {
        throw new DomainError('INVALID_CAPACITY', 'validation', 'capacity must be a positive whole number');
      }
      return [
        {
          type: 'ExamVenueAdded',
          data: {
            universityId: state.universityId!,
            venueId,
            name: text(command.data.name, 'name', UNIVERSITY_LIMITS.name),
            address: text(command.data.address, 'address', UNIVERSITY_LIMITS.address),
            location,
            capacity,
            addedBy: context.actorId,
            addedAt: context.now,
          },
        },
      ];
    }
    case 'ScheduleExamSession': {
      if (state.status === 'none') throw new DomainError('UNIVERSITY_NOT_FOUND', 'not_found', 'university not found');
      assertMayActFor(context, state.universityId!);
      const { sessionId, startsOn, endsOn } = command.data;
      if (state.sessions.has(sessionId)) return [];
      const from = dayNumber(startsOn);
      const to = dayNumber(endsOn);
      if (Number.isNaN(from) || Number.isNaN(to)) {
        throw new DomainError('INVALID_DATE', 'validation', 'startsOn and endsOn must be real dates');
      }
      if (to < from) throw new DomainError('INVALID_SESSION_DATES', 'validation', 'endsOn must not be before startsOn');
      if (to - from > UNIVERSITY_LIMITS.sessionDays) {
        throw new DomainError(
          'SESSION_TOO_LONG',
          'validation',
          `a session lasts at most ${UNIVERSITY_LIMITS.sessionDays} days`,
        );
      }
      const venueIds = [...new Set(command.data.venueIds)];
      if (venueIds.length === 0 || venueIds.length > UNIVERSITY_LIMITS.venuesPerSession) {
        throw new DomainError(
          'INVALID_VENUES',
          'validation',
          `a session takes place at 1 to ${UNIVERSITY_LIMITS.venuesPerSession} venues`,
        );
      }
      const unknown = venueIds.filter((id) => !state.venues.has(id));
      if (unknown.length > 0) {
        throw new DomainError('UNKNOWN_VENUES', 'validation', 'every venue must be one of this university’s', {
          venueIds: unknown,
        });
      }
      return [
        {
          type: 'ExamSessionScheduled',
          data: {
            universityId: state.universityId!,
            sessionId,
            name: text(command.data.name, 'name', UNIVERSITY_LIMITS.name),
            startsOn,
            endsOn,
            venueIds,
            scheduledBy: context.actorId,
            scheduledAt: context.now,
          },
        },
      ];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
    }
  }
}

export function evolve(state: UniversityState, event: UniversityEvent): UniversityState {
  switch (event.type) {
    case 'UniversityRegistered':
      return { ...state, status: 'registered', universityId: event.data.universityId, name: event.data.name };
    case 'ExamVenueAdded': {
      const venues = new Map(state.venues);
      const { venueId, name, location } = event.data;
      venues.set(venueId, { venueId, name, location });
      return { ...state, venues };
    }
    case 'ExamSessionScheduled': {
      const sessions = new Map(state.sessions);
      const { sessionId, name, startsOn, endsOn, venueIds } = event.data;
      sessions.set(sessionId, { sessionId, name, startsOn, endsOn, venueIds });
      return { ...state, sessions };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
    }
  }
}

export const universityDecider: Decider<UniversityCommand, UniversityEvent, UniversityState> = {
  initialState: initialUniversityState,
  decide,
  evolve,
  schemaVersions: universitySchemaVersions,
};

/** A candidate's assignments: session id to venue id. */
export interface CandidateState {
  assignments: ReadonlyMap<string, string>;
}

/**
 * A tenant records where they sit an exam; an official of the session's university (or an admin) may assign
 * candidates. The venue must be one of the session's.
 */
export const candidateDecider: Decider<AssignCandidate, CandidateEvent, CandidateState> = {
  initialState: { assignments: new Map() },
  schemaVersions: candidateSchemaVersions,
  decide(command, state) {
    const { context } = command;
    const { tenantId, session, venueId } = command.data;
    if (!session) throw new DomainError('EXAM_SESSION_NOT_FOUND', 'not_found', 'exam session not found');
    const self = context.actorRole === 'tenant' && context.actorId === tenantId;
    if (!self) assertMayActFor(context, session.universityId);
    if (!session.venueIds.includes(venueId)) {
      throw new DomainError('VENUE_NOT_IN_SESSION', 'validation', 'this venue is not one of the session’s venues', {
        venueIds: session.venueIds,
      });
    }
    if (state.assignments.get(session.sessionId) === venueId) return [];
    return [
      {
        type: 'CandidateAssigned',
        data: {
          tenantId,
          universityId: session.universityId,
          sessionId: session.sessionId,
          venueId,
          assignedBy: context.actorId,
          assignedAt: context.now,
        },
      },
    ];
  },
  evolve(state, event) {
    const assignments = new Map(state.assignments);
    assignments.set(event.data.sessionId, event.data.venueId);
    return { assignments };
  },
};
