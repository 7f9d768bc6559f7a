import { EntitySchema } from '@mikro-orm/core';
import type { GeoPoint } from '../../domain/shared/values.js';
import { PointType } from '../../infra/db/pointType.js';

export class UniversityView {
  id!: string;
  name!: string;
  city!: string;
  country!: string;
  location!: GeoPoint;
  createdAt!: Date;
}

export class ExamVenueView {
  id!: string;
  universityId!: string;
  name!: string;
  address!: string;
  location!: GeoPoint;
  capacity!: number | null;
  createdAt!: Date;
}

export class ExamSessionView {
  id!: string;
  universityId!: string;
  name!: string;
  startsOn!: string;
  endsOn!: string;
  venueIds!: string[];
  createdAt!: Date;
}

export class ExamAssignmentView {
  tenantId!: string;
  sessionId!: string;
  universityId!: string;
  venueId!: string;
  assignedBy!: string;
  assignedAt!: Date;
}

export const UniversityViewSchema = new EntitySchema<UniversityView>({
  class: UniversityView,
  tableName: 'universities',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'string' },
    city: { type: 'string' },
    country: { type: 'string' },
    location: { type: PointType },
    createdAt: { type: 'Date', fieldName: 'created_at' },
  },
});

export const ExamVenueViewSchema = new EntitySchema<ExamVenueView>({
  class: ExamVenueView,
  tableName: 'exam_venues',
  properties: {
    id: { type: 'uuid', primary: true },
    universityId: { type: 'uuid', fieldName: 'university_id' },
    name: { type: 'string' },
    address: { type: 'string' },
    location: { type: PointType },
    capacity: { type: 'integer', nullable: true },
    createdAt: { type: 'Date', fieldName: 'created_at' },
  },
});

export const ExamSessionViewSchema = new EntitySchema<ExamSessionView>({
  class: ExamSessionView,
  tableName: 'exam_sessions',
  properties: {
    id: { type: 'uuid', primary: true },
    universityId: { type: 'uuid', fieldName: 'university_id' },
    name: { type: 'string' },
    startsOn: { type: 'string', fieldName: 'starts_on', columnType: 'date' },
    endsOn: { type: 'string', fieldName: 'ends_on', columnType: 'date' },
    venueIds: { type: 'json', fieldName: 'venue_ids' },
    createdAt: { type: 'Date', fieldName: 'created_at' },
  },
});

export const ExamAssignmentViewSchema = new EntitySchema<ExamAssignmentView>({
  class: ExamAssignmentView,
  tableName: 'exam_assignments',
  properties: {
    tenantId: { type: 'uuid', primary: true, fieldName: 'tenant_id' },
    sessionId: { type: 'uuid', primary: true, fieldName: 'session_id' },
    universityId: { type: 'uuid', fieldName: 'university_id' },
    venueId: { type: 'uuid', fieldName: 'venue_id' },
    assignedBy: { type: 'uuid', fieldName: 'assigned_by' },
    assignedAt: { type: 'Date', fieldName: 'assigned_at' },
  },
});
