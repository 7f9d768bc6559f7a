import { ErasedProfile, type UserEvent, UserEventTypes } from '../../domain/identity/events.js';
import { singleStreamRows } from '../singleStreamRows.js';
import { UserView } from './userView.js';

/** Builds `users` from the User streams (read through the personal-data decorator: erased fields come as null). */
export const usersProjection = singleStreamRows<UserEvent, UserView>({
  name: 'users',
  version: 2,
  streamPrefix: 'User-',
  eventTypes: UserEventTypes,
  entity: UserView,
  key: 'id',
  table: 'users',
  evolve: (user, event, { id, at }) => {
    if (event.type === 'UserRegistered') {
      if (user) return null;
      const { userId: _id, registeredAt: _at, bootstrap: _bootstrap, ...profile } = event.data;
      return { ...profile, id, universityId: null, createdAt: at, updatedAt: at, erasedAt: null };
    }
    if (!user) return null;
    switch (event.type) {
      case 'ProfileUpdated':
        return { ...user, ...(user.erasedAt ? {} : event.data.changes), updatedAt: at };
      case 'RoleGranted':
        return { ...user, role: event.data.role, universityId: event.data.universityId, updatedAt: at };
      case 'PersonalDataErased':
        return { ...user, ...ErasedProfile, erasedAt: at, updatedAt: at };
      default: {
        const unhandled: never = event;
        throw new Error(`users projection: unknown event ${(unhandled as { type: string }).type}`);
      }
    }
  },
});
