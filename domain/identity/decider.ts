import type { Decider, Role } from '../shared/decider.js';
import { Roles } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import type { ReservationCommand, UserCommand } from './commands.js';
import {
  ErasedProfile,
  type Profile,
  type ReservationEvent,
  reservationSchemaVersions,
  SelfServiceRoles,
  type UserEvent,
  userSchemaVersions,
} from './events.js';
import { isPlausibleEmail, isPlausiblePhone, normalizeEmail, normalizePhone } from './normalize.js';

export interface UserState extends Partial<Profile> {
  status: 'none' | 'active' | 'erased';
  userId?: string;
  role?: Role;
  universityId?: string | null;
  registeredAt?: string;
}

export const initialUserState: UserState = { status: 'none' };

function text(value: string | null | undefined, field: string, max: number, required = false): string | null {
  const trimmed = value?.normalize('NFKC').trim() ?? '';
  if (required && trimmed.length === 0)
    throw new DomainError('INVALID_FIELD', 'validation', `${field} is required`, { field });
  if (trimmed.length > max)
    throw new DomainError('INVALID_FIELD', 'validation', `${field} is longer than ${max} characters`, { field });
  return trimmed.length > 0 ? trimmed : null;
}

function phoneOf(phone: string): string {
  const normalized = normalizePhone(phone);
  if (!isPlausiblePhone(normalized)) {
    throw new DomainError(
      'INVALID_PHONE',
      'validation',
      'phone must be a number of 7 to 15 digits, with an optional leading +',
    );
  }
  return normalized;
}

function assertActive(state: UserState): void {
  if (state.status === 'none') throw new DomainError('USER_NOT_FOUND', 'not_found', 'user not found');
  if (state.status === 'erased') {
    throw new DomainError('PERSONAL_DATA_ERASED', 'illegal_state', "this person's data has been erased");
  }
}

export function decide(command: UserCommand, state: UserState): UserEvent[] {
  const { context } = command;
  switch (command.type) {
    case 'RegisterUser': {
      if (state.status !== 'none') throw new DomainError('USER_EXISTS', 'conflict', 'this user already exists');
      const { data } = command;
      const bootstrap = data.bootstrap === true && data.role === 'admin';
      if (!bootstrap && !(SelfServiceRoles as readonly string[]).includes(data.role)) {
        throw new DomainError(
          'ROLE_NOT_SELF_SERVICE',
          'validation',
          `register as ${SelfServiceRoles.join(' or ')}; other roles are granted`,
        );
      }
      if (!data.phone && !bootstrap) throw new DomainError('INVALID_PHONE', 'validation', 'phone is required');
      const email = normalizeEmail(data.email);
      if (!isPlausibleEmail(email))
        throw new DomainError('INVALID_EMAIL', 'validation', 'email is not a valid address');
      return [
        {
          type: 'UserRegistered',
          data: {
            userId: data.userId,
            role: data.role,
            email,
            phone: data.phone ? phoneOf(data.phone) : null,
            fullName: text(data.fullName, 'fullName', 120, true),
            universityName: text(data.universityName, 'universityName', 200),
            businessName: text(data.businessName, 'businessName', 200),
            profilePictureUrl: null,
            registeredAt: context.now,
            ...(bootstrap ? { bootstrap: true } : {}),
          },
        },
      ];
    }
    case 'UpdateProfile': {
      assertActive(state);
      if (context.actorId !== state.userId && context.actorRole !== 'admin') {
        throw new DomainError('NOT_YOUR_PROFILE', 'forbidden', 'only the person or an admin may change a profile');
      }
      const proposed = command.data.changes;
      const changes: Partial<Omit<Profile, 'email'>> = {};
      if (proposed.fullName !== undefined) changes.fullName = text(proposed.fullName, 'fullName', 120, true);
      if (proposed.phone !== undefined && proposed.phone !== null) changes.phone = phoneOf(proposed.phone);
      if (proposed.universityName !== undefined)
        changes.universityName = text(proposed.universityName, 'universityName', 200);
      if (proposed.businessName !== undefined) changes.businessName = text(proposed.businessName, 'businessName', 200);
      if (proposed.profilePictureUrl !== undefined) {
        const url = text(proposed.profilePictureUrl, 'profilePictureUrl', 500);
        if (url !== null && !/^https?:\/\/\S+$/.test(url)) {
          throw new DomainError('INVALID_FIELD', 'validation', 'profilePictureUrl must be an http(s) URL', {
            field: 'profilePictureUrl',
          });
        }
        changes.profilePictureUrl = url;
      }
      for (const key of Object.keys(changes) as Array<keyof typeof changes>) {
        if (changes[key] === state[key]) delete changes[key];
      }
      if (Object.keys(changes).length === 0) return [];
      return [{ type: 'ProfileUpdated', data: { userId: state.userId!, changes, updatedAt: context.now } }];
    }
    case 'GrantRole': {
      assertActive(state);
      if (context.actorRole !== 'admin') throw new DomainError('ADMIN_ONLY', 'forbidden', 'only an admin grants roles');
      const { role } = command.data;
      if (!(Roles as readonly string[]).includes(role))
        throw new DomainError('UNKNOWN_ROLE', 'validation', `unknown role ${role}`);
      const universityId = command.data.universityId ?? null;
      if (role === 'official' && !universityId) {
        throw new DomainError(
          'UNIVERSITY_REQUIRED',
          'validation',
          'an official acts for a university: universityId is required',
        );
      }
      if (role !== 'official' && universityId) {
        throw new DomainError('UNIVERSITY_NOT_ALLOWED', 'validation', 'only officials belong to a university');
      }
      if (role === state.role && universityId === (state.universityId ?? null)) return [];
      if (state.userId === context.actorId && role !== 'admin') {
        throw new DomainError(
          'CANNOT_DEMOTE_SELF',
          'illegal_state',
          'an admin cannot take the admin role from themselves',
        );
      }
      return [
        {
          type: 'RoleGranted',
          data: {
            userId: state.userId!,
            role,
            universityId,
            previousRole: state.role!,
            grantedBy: context.actorId,
            grantedAt: context.now,
          },
        },
      ];
    }
    case 'ErasePersonalData': {
      if (state.status === 'none') throw new DomainError('USER_NOT_FOUND', 'not_found', 'user not found');
      if (context.actorRole !== 'admin')
        throw new DomainError('ADMIN_ONLY', 'forbidden', 'only an admin erases personal data');
      if (state.status === 'erased') return [];
      return [
        {
          type: 'PersonalDataErased',
          data: { userId: state.userId!, erasedBy: context.actorId, erasedAt: context.now },
        },
      ];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
    }
  }
}

export function evolve(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case 'UserRegistered': {
      const { bootstrap: _bootstrap, ...data } = event.data;
      return { ...state, ...data, status: 'active', universityId: null };
    }
    case 'ProfileUpdated':
      return { ...state, ...event.data.changes };
    case 'RoleGranted':
      return { ...state, role: event.data.role, universityId: event.data.universityId };
    case 'PersonalDataErased':
      return { ...state, status: 'erased', ...ErasedProfile };
    default: {
      const unhandled: never = event;
      throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
    }
  }
}

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  initialState: initialUserState,
  decide,
  evolve,
  schemaVersions: userSchemaVersions,
};

export interface ReservationState {
  holder: string | null;
  reservedAt: string | null;
}

/**
 * One unique value (an email, a phone) as a stream of its own: whoever appends ValueReserved first
 * holds it; the expected revision makes concurrent claims race safely on the write side.
 */
export const reservationDecider: Decider<ReservationCommand, ReservationEvent, ReservationState> = {
  initialState: { holder: null, reservedAt: null },
  schemaVersions: reservationSchemaVersions,
  decide(command, state) {
    switch (command.type) {
      case 'Reserve':
        if (state.holder === command.data.userId) return [];
        if (state.holder !== null)
          throw new DomainError(command.data.takenCode, 'conflict', 'already in use by another account');
        return [{ type: 'ValueReserved', data: { userId: command.data.userId, reservedAt: command.context.now } }];
      case 'Release':
        if (state.holder !== command.data.userId) return [];
        return [{ type: 'ValueReleased', data: { userId: command.data.userId, releasedAt: command.context.now } }];
      default: {
        const unhandled: never = command;
        throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
      }
    }
  },
  evolve(_state, event) {
    switch (event.type) {
      case 'ValueReserved':
        return { holder: event.data.userId, reservedAt: event.data.reservedAt };
      case 'ValueReleased':
        return { holder: null, reservedAt: null };
      default: {
        const unhandled: never = event;
        throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
      }
    }
  },
};
