import type { DomainEvent, Role } from '../shared/decider.js';

/** Roles a person can choose at registration; the others are granted by an admin. */
export const SelfServiceRoles = ['tenant', 'landlord'] as const;
export type SelfServiceRole = (typeof SelfServiceRoles)[number];

/** Personal data: sealed per person in the store (crypto-shredding), null once erased. */
export interface PersonalFields {
  email: string | null;
  phone: string | null;
  fullName: string | null;
}

export interface Profile extends PersonalFields {
  universityName: string | null;
  businessName: string | null;
  profilePictureUrl: string | null;
}

export type UserRegistered = DomainEvent<
  'UserRegistered',
  Profile & { userId: string; role: Role; registeredAt: string; bootstrap?: boolean }
>;
export type ProfileUpdated = DomainEvent<
  'ProfileUpdated',
  { userId: string; changes: Partial<Omit<Profile, 'email'>>; updatedAt: string }
>;
export type RoleGranted = DomainEvent<
  'RoleGranted',
  { userId: string; role: Role; universityId: string | null; previousRole: Role; grantedBy: string; grantedAt: string }
>;
export type PersonalDataErased = DomainEvent<
  'PersonalDataErased',
  { userId: string; erasedBy: string; erasedAt: string }
>;

export type UserEvent = UserRegistered | ProfileUpdated | RoleGranted | PersonalDataErased;
export const UserEventTypes = ['UserRegistered', 'ProfileUpdated', 'RoleGranted', 'PersonalDataErased'] as const;

/**
 * Version 2 of UserRegistered and ProfileUpdated seals universityName, businessName and
 * profilePictureUrl too; version 1 events hold them in plaintext and read as written (see the policy).
 */
export const userSchemaVersions = {
  UserRegistered: 2,
  ProfileUpdated: 2,
  RoleGranted: 1,
  PersonalDataErased: 1,
} as const satisfies Record<UserEvent['type'], number>;

export const userStreamId = (userId: string) => `User-${userId}`;

/** What an erased person's profile holds: every personal field empty (their role and history stay). */
export const ErasedProfile = {
  email: null,
  phone: null,
  fullName: null,
  universityName: null,
  businessName: null,
  profilePictureUrl: null,
} as const;

/**
 * Which fields of which events are personal (sealed with the person's key, see infra/crypto).
 * `sealedFrom`: fields sealed only from that schema version on (older events hold them in plaintext).
 */
export const personalDataPolicy = {
  UserRegistered: {
    subject: (data: { userId: string }) => data.userId,
    fields: ['email', 'phone', 'fullName', 'universityName', 'businessName', 'profilePictureUrl'],
    sealedFrom: { universityName: 2, businessName: 2, profilePictureUrl: 2 },
  },
  ProfileUpdated: {
    subject: (data: { userId: string }) => data.userId,
    fields: [
      'changes.phone',
      'changes.fullName',
      'changes.universityName',
      'changes.businessName',
      'changes.profilePictureUrl',
    ],
    sealedFrom: { 'changes.universityName': 2, 'changes.businessName': 2, 'changes.profilePictureUrl': 2 },
  },
} as const;

/** A unique value (an email, a phone number) held by one user at a time. */
export type ValueReserved = DomainEvent<'ValueReserved', { userId: string; reservedAt: string }>;
export type ValueReleased = DomainEvent<'ValueReleased', { userId: string; releasedAt: string }>;
export type ReservationEvent = ValueReserved | ValueReleased;
export const reservationSchemaVersions = { ValueReserved: 1, ValueReleased: 1 } as const;
