import type { EntityManager } from '@mikro-orm/postgresql';
import { type CandidateEvent, type UniversityEvent, UniversityEventTypes } from '../../domain/universities/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projection.js';
import { ExamAssignmentView, ExamSessionView, ExamVenueView, UniversityView } from './universityViews.js';

/**
 * Universities, exam venues, exam sessions and candidates' venue assignments. Every event creates or
 * replaces one row by its id, so applying an event twice leaves the same rows.
 */
export const universitiesProjection: PgProjection = {
  name: 'universities',
  version: 1,
  tables: ['universities', 'exam_venues', 'exam_sessions', 'exam_assignments'],
  filter: {
    eventTypes: [...UniversityEventTypes, 'CandidateAssigned'],
    streamPrefixes: ['University-', 'ExamCandidate-'],
  },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as UniversityEvent | CandidateEvent;
      switch (event.type) {
        case 'UniversityRegistered': {
          const { universityId, name, city, country, location, registeredAt } = event.data;
          await em.upsert(UniversityView, {
            id: universityId,
            name,
            city,
            country,
            location,
            createdAt: new Date(registeredAt),
          });
          break;
        }
        case 'ExamVenueAdded': {
          const { venueId, universityId, name, address, location, capacity, addedAt } = event.data;
          await em.upsert(ExamVenueView, {
            id: venueId,
            universityId,
            name,
            address,
            location,
            capacity,
            createdAt: new Date(addedAt),
          });
          break;
        }
        case 'ExamSessionScheduled': {
          const { sessionId, universityId, name, startsOn, endsOn, venueIds, scheduledAt } = event.data;
          await em.upsert(ExamSessionView, {
            id: sessionId,
            universityId,
            name,
            startsOn,
            endsOn,
            venueIds,
            createdAt: new Date(scheduledAt),
          });
          break;
        }
        case 'CandidateAssigned': {
          const { tenantId, sessionId, universityId, venueId, assignedBy, assignedAt } = event.data;
          await em.upsert(ExamAssignmentView, {
            tenantId,
            sessionId,
            universityId,
            venueId,
            assignedBy,
            assignedAt: new Date(assignedAt),
          });
          break;
        }
        default:
          break;
      }
    }
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('TRUNCATE universities, exam_venues, exam_sessions, exam_assignments');
  },
};
