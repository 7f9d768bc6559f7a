import { randomUUID } from 'node:crypto';
import type { RegisterUser } from '../../../domain/identity/commands.js';
import type { UserRegistered } from '../../../domain/identity/events.js';
import type { CommandContext, Role } from '../../../domain/shared/decider.js';
import { NOW } from './rooms.js';

export function context(role: Role, actorId: string = randomUUID()): CommandContext {
  return { actorId, actorRole: role, now: NOW };
}

export function registration(userId: string, overrides: Partial<RegisterUser['data']> = {}): RegisterUser {
  return {
    type: 'RegisterUser',
    data: {
      userId,
      role: 'tenant',
      email: ' Giulia.Rossi@Example.org ',
      phone: '+39 051 123 4567',
      fullName: 'Giulia Rossi',
      universityName: 'Università di Bologna',
      ...overrides,
    },
    context: context(overrides.role ?? 'tenant', userId),
  };
}

export function userRegistered(userId: string, overrides: Partial<UserRegistered['data']> = {}): UserRegistered {
  return {
    type: 'UserRegistered',
    data: {
      userId,
      role: 'tenant',
      email: 'giulia.rossi@example.org',
      phone: '+390511234567',
      fullName: 'Giulia Rossi',
      universityName: 'Università di Bologna',
      businessName: null,
      profilePictureUrl: null,
      registeredAt: NOW,
      ...overrides,
    },
  };
}
