import type { EntityManager } from '@mikro-orm/postgresql';
import { ErasedProfile, type UserEvent, UserEventTypes } from '../../domain/identity/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projection.js';
import { UserView } from './userView.js';

/** Builds `users` from the User streams (read through the personal-data decorator: erased fields come as null). */
export const usersProjection: PgProjection = {
  name: 'users',
  version: 2,
  filter: { eventTypes: UserEventTypes, streamPrefixes: ['User-'] },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as UserEvent;
      const at = new Date(recorded.metadata.occurredAt);
      const userId = recorded.streamId.slice('User-'.length);
      if (event.type === 'UserRegistered') {
        if (await em.findOne(UserView, { id: userId })) continue;
        const { userId: _id, registeredAt: _at, bootstrap: _bootstrap, ...profile } = event.data;
        em.create(UserView, {
          ...profile,
          id: userId,
          universityId: null,
          createdAt: at,
          updatedAt: at,
          erasedAt: null,
          revision: recorded.revision,
          lastPosition: recorded.position,
        });
        continue;
      }
      const user = await em.findOne(UserView, { id: userId });
      if (!user || user.revision >= recorded.revision) continue;
      switch (event.type) {
        case 'ProfileUpdated':
          if (!user.erasedAt) Object.assign(user, event.data.changes);
          break;
        case 'RoleGranted':
          user.role = event.data.role;
          user.universityId = event.data.universityId;
          break;
        case 'PersonalDataErased':
          Object.assign(user, { ...ErasedProfile, erasedAt: at });
          break;
        default: {
          const unhandled: never = event;
          throw new Error(`users projection: unknown event ${(unhandled as { type: string }).type}`);
        }
      }
      user.updatedAt = at;
      user.revision = recorded.revision;
      user.lastPosition = recorded.position;
    }
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('DELETE FROM users');
  },
};
