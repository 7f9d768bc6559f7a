import type { DomainEvent } from '../shared/decider.js';

/**
 * Audit reads are themselves on the record: each read of the audit API appends one event, to a stream per UTC day
 * (`AuditTrail-YYYY-MM-DD`), so that admins can list who read what over a period with one stream read a day.
 */
export type AuditReadKind =
  | 'stream'
  | 'stream_verification'
  | 'booking_history'
  | 'booking_state'
  | 'ledger_digest'
  | 'ledger_verification'
  | 'ledger_export';

export type AuditRead = DomainEvent<
  'AuditRead',
  {
    readerId: string;
    readerRole: string;
    kind: AuditReadKind;
    /** The stream or booking read. */
    subject: string;
    readAt: string;
  }
>;

export const AUDIT_TRAIL_PREFIX = 'AuditTrail-';
export const auditTrailStreamId = (instant: string) => `${AUDIT_TRAIL_PREFIX}${instant.slice(0, 10)}`;
