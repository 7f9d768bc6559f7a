import { EntitySchema } from '@mikro-orm/core';
import type { Role } from '../../domain/shared/decider.js';

/** One row per account: GET /api/auth/me and admin views. Personal fields are null once erased. */
export class UserView {
  id!: string;
  role!: Role;
  universityId!: string | null;
  email!: string | null;
  phone!: string | null;
  fullName!: string | null;
  universityName!: string | null;
  businessName!: string | null;
  profilePictureUrl!: string | null;
  createdAt!: Date;
  updatedAt!: Date;
  erasedAt!: Date | null;
  revision!: bigint;
  lastPosition!: bigint;
}

export const UserViewSchema = new EntitySchema<UserView>({
  class: UserView,
  tableName: 'users',
  properties: {
    id: { type: 'uuid', primary: true },
    role: { type: 'string' },
    universityId: { type: 'uuid', fieldName: 'university_id', nullable: true },
    email: { type: 'string', nullable: true },
    phone: { type: 'string', nullable: true },
    fullName: { type: 'string', fieldName: 'full_name', nullable: true },
    universityName: { type: 'string', fieldName: 'university_name', nullable: true },
    businessName: { type: 'string', fieldName: 'business_name', nullable: true },
    profilePictureUrl: { type: 'string', fieldName: 'profile_picture_url', nullable: true },
    createdAt: { type: 'Date', fieldName: 'created_at' },
    updatedAt: { type: 'Date', fieldName: 'updated_at' },
    erasedAt: { type: 'Date', fieldName: 'erased_at', nullable: true },
    revision: { type: 'bigint' },
    lastPosition: { type: 'bigint', fieldName: 'last_position' },
  },
});
