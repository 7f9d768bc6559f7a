import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usersProjection } from '../../projections/users/usersProjection.js';
import { UserView } from '../../projections/users/userView.js';
import { userRegistered } from '../support/builders/users.js';
import { projectionSpec, recordedEvent } from '../support/projectionSpec.js';

const spec = projectionSpec(usersProjection);
const row = (id: string) => spec.orm.em.fork().findOne(UserView, { id });

describe('users projection', () => {
  it('keeps no personal field of an erased person: business and university names and the picture go too', async () => {
    const userId = randomUUID();
    const stream = `User-${userId}`;
    await spec.apply([
      recordedEvent(stream, 0, userRegistered(userId, { universityName: 'Alma Mater', businessName: 'Rossi Rooms' })),
      recordedEvent(stream, 1, {
        type: 'ProfileUpdated',
        data: {
          userId,
          changes: { profilePictureUrl: 'https://example.org/me.jpg' },
          updatedAt: '2027-01-05T10:00:00.000Z',
        },
      }),
    ]);
    expect(await row(userId)).toMatchObject({ universityName: 'Alma Mater', businessName: 'Rossi Rooms' });
    await spec.apply([
      recordedEvent(stream, 2, {
        type: 'PersonalDataErased',
        data: { userId, erasedBy: randomUUID(), erasedAt: '2027-01-06T10:00:00.000Z' },
      }),
    ]);
    expect(await row(userId)).toMatchObject({
      email: null,
      phone: null,
      fullName: null,
      universityName: null,
      businessName: null,
      profilePictureUrl: null,
    });
  });
});
