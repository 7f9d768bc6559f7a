import { randomUUID } from 'node:crypto';
import { describe, it } from 'vitest';
import { reservationDecider, userDecider } from '../../../domain/identity/decider.js';
import { NOW } from '../../support/builders/rooms.js';
import { context, registration, userRegistered } from '../../support/builders/users.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(userDecider);
const userId = randomUUID();
const admin = context('admin');

describe('RegisterUser', () => {
  it('registers with a normalised email and phone', () => {
    spec
      .given([])
      .when(registration(userId))
      .then([userRegistered(userId)]);
  });

  it('refuses a second registration of the same user', () => {
    spec
      .given([userRegistered(userId)])
      .when(registration(userId))
      .thenThrows('USER_EXISTS', 'conflict');
  });

  it('refuses roles that are granted, not chosen', () => {
    spec
      .given([])
      .when(registration(userId, { role: 'admin' }))
      .thenThrows('ROLE_NOT_SELF_SERVICE', 'validation');
    spec
      .given([])
      .when(registration(userId, { role: 'auditor' }))
      .thenThrows('ROLE_NOT_SELF_SERVICE', 'validation');
  });

  it('creates the bootstrap admin', () => {
    spec
      .given([])
      .when(registration(userId, { role: 'admin', bootstrap: true, universityName: null }))
      .then([userRegistered(userId, { role: 'admin', universityName: null, bootstrap: true })]);
  });

  it.each([
    [{ email: 'not-an-email' }, 'INVALID_EMAIL'],
    [{ phone: '12' }, 'INVALID_PHONE'],
    [{ fullName: '   ' }, 'INVALID_FIELD'],
  ])('rejects %j', (overrides, code) => {
    spec.given([]).when(registration(userId, overrides)).thenThrows(code, 'validation');
  });
});

describe('UpdateProfile', () => {
  const update = (changes: object, ctx = context('tenant', userId)) =>
    ({ type: 'UpdateProfile', data: { userId, changes }, context: ctx }) as const;

  it('records what changed', () => {
    spec
      .given([userRegistered(userId)])
      .when(update({ phone: '+39 333 000 1111', fullName: 'Giulia Rossi' }))
      .then([{ type: 'ProfileUpdated', data: { userId, changes: { phone: '+393330001111' }, updatedAt: NOW } }]);
  });

  it('does nothing when nothing changes', () => {
    spec
      .given([userRegistered(userId)])
      .when(update({ fullName: 'Giulia Rossi' }))
      .thenNothing();
  });

  it('refuses someone else', () => {
    spec
      .given([userRegistered(userId)])
      .when(update({ fullName: 'X Y' }, context('tenant')))
      .thenThrows('NOT_YOUR_PROFILE', 'forbidden');
  });

  it('refuses after erasure', () => {
    spec
      .given([
        userRegistered(userId),
        { type: 'PersonalDataErased', data: { userId, erasedBy: admin.actorId, erasedAt: NOW } },
      ])
      .when(update({ fullName: 'Back Again' }))
      .thenThrows('PERSONAL_DATA_ERASED', 'illegal_state');
  });
});

describe('GrantRole', () => {
  const grant = (role: string, universityId: string | null = null, ctx = admin) =>
    ({ type: 'GrantRole', data: { userId, role: role as 'official', universityId }, context: ctx }) as const;

  it('makes an official of a university', () => {
    const universityId = randomUUID();
    spec
      .given([userRegistered(userId)])
      .when(grant('official', universityId))
      .then([
        {
          type: 'RoleGranted',
          data: {
            userId,
            role: 'official',
            universityId,
            previousRole: 'tenant',
            grantedBy: admin.actorId,
            grantedAt: NOW,
          },
        },
      ]);
  });

  it('requires a university for an official, and only for an official', () => {
    spec
      .given([userRegistered(userId)])
      .when(grant('official'))
      .thenThrows('UNIVERSITY_REQUIRED', 'validation');
    spec
      .given([userRegistered(userId)])
      .when(grant('auditor', randomUUID()))
      .thenThrows('UNIVERSITY_NOT_ALLOWED', 'validation');
  });

  it('does nothing when the role is already held', () => {
    spec
      .given([userRegistered(userId)])
      .when(grant('tenant'))
      .thenNothing();
  });

  it('is for admins only', () => {
    spec
      .given([userRegistered(userId)])
      .when(grant('auditor', null, context('landlord')))
      .thenThrows('ADMIN_ONLY', 'forbidden');
  });

  it('refuses an unknown role', () => {
    spec
      .given([userRegistered(userId)])
      .when(grant('superuser'))
      .thenThrows('UNKNOWN_ROLE', 'validation');
  });
});

describe('ErasePersonalData', () => {
  const erase = (ctx = admin) => ({ type: 'ErasePersonalData', data: { userId }, context: ctx }) as const;

  it('erases once', () => {
    spec
      .given([userRegistered(userId)])
      .when(erase())
      .then([{ type: 'PersonalDataErased', data: { userId, erasedBy: admin.actorId, erasedAt: NOW } }]);
  });

  it('does nothing the second time', () => {
    spec
      .given([
        userRegistered(userId),
        { type: 'PersonalDataErased', data: { userId, erasedBy: admin.actorId, erasedAt: NOW } },
      ])
      .when(erase())
      .thenNothing();
  });

  it('is for admins only', () => {
    spec
      .given([userRegistered(userId)])
      .when(erase(context('support')))
      .thenThrows('ADMIN_ONLY', 'forbidden');
  });
});

describe('reservations of unique values', () => {
  const reservations = deciderSpec(reservationDecider);
  const other = randomUUID();
  const reserve = (holder: string) =>
    ({
      type: 'Reserve',
      data: { userId: holder, takenCode: 'EMAIL_TAKEN' },
      context: context('tenant', holder),
    }) as const;
  const release = (holder: string) =>
    ({ type: 'Release', data: { userId: holder }, context: context('tenant', holder) }) as const;
  const reserved = (holder: string) => ({ type: 'ValueReserved', data: { userId: holder, reservedAt: NOW } }) as const;
  const released = (holder: string) => ({ type: 'ValueReleased', data: { userId: holder, releasedAt: NOW } }) as const;

  it('reserves a free value', () => {
    reservations
      .given([])
      .when(reserve(userId))
      .then([reserved(userId)]);
  });

  it('refuses a value someone else holds', () => {
    reservations
      .given([reserved(other)])
      .when(reserve(userId))
      .thenThrows('EMAIL_TAKEN', 'conflict');
  });

  it('is idempotent for the holder, and free again after release', () => {
    reservations
      .given([reserved(userId)])
      .when(reserve(userId))
      .thenNothing();
    reservations
      .given([reserved(other), released(other)])
      .when(reserve(userId))
      .then([reserved(userId)]);
  });

  it('releases only for the holder', () => {
    reservations
      .given([reserved(userId)])
      .when(release(userId))
      .then([released(userId)]);
    reservations
      .given([reserved(other)])
      .when(release(userId))
      .thenNothing();
  });
});
