import type { CommandContext } from '../shared/decider.js';
import type { GeoPoint } from '../shared/values.js';

/**
 * Officials act for one university: the command carries the university the acting official belongs to
 * (read from their account by the handler), null for anyone else.
 */
export interface UniversityContext extends CommandContext {
  actorUniversityId: string | null;
}

export type RegisterUniversity = {
  type: 'RegisterUniversity';
  data: { universityId: string; name: string; city: string; country: string; location: GeoPoint };
  context: UniversityContext;
};
export type AddExamVenue = {
  type: 'AddExamVenue';
  data: {
    universityId: string;
    venueId: string;
    name: string;
    address: string;
    location: GeoPoint;
    capacity?: number | null;
  };
  context: UniversityContext;
};
export type ScheduleExamSession = {
  type: 'ScheduleExamSession';
  data: {
    universityId: string;
    sessionId: string;
    name: string;
    startsOn: string;
    endsOn: string;
    venueIds: readonly string[];
  };
  context: UniversityContext;
};

export type UniversityCommand = RegisterUniversity | AddExamVenue | ScheduleExamSession;

/** What the candidate decider needs to know of the session (read from the university's stream). */
export interface SessionSnapshot {
  universityId: string;
  sessionId: string;
  venueIds: readonly string[];
  endsOn: string;
}

export type AssignCandidate = {
  type: 'AssignCandidate';
  data: { tenantId: string; session: SessionSnapshot | null; venueId: string };
  context: UniversityContext;
};
