import { createHash } from 'node:crypto';

/** `previousHash` of revision 0 in every stream. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every depth, so that the same value always hashes the same way,
 * whichever store or language serialised it. Adapters store exactly this text.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const source = value as Record<string, unknown>;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(source).sort()) {
      if (source[key] !== undefined) sorted[key] = sortKeys(source[key]);
    }
    return sorted;
  }
  return value;
}

export interface HashedContent {
  streamId: string;
  revision: bigint;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: unknown;
}

/**
 * hash = sha256-hex of the lines: previousHash, streamId, revision, eventId (lower case), type,
 * schemaVersion, canonicalJson(data), canonicalJson(metadata), joined by "\n".
 * The PostgreSQL adapter computes the same in SQL (see its schema); `verifyChain` recomputes it.
 */
export function eventHash(previousHash: string, event: HashedContent): string {
  const input = [
    previousHash,
    event.streamId,
    event.revision.toString(),
    event.eventId.toLowerCase(),
    event.type,
    String(event.schemaVersion),
    canonicalJson(event.data),
    canonicalJson(event.metadata),
  ].join('\n');
  return createHash('sha256').update(input, 'utf8').digest('hex');
}

export interface ChainedEvent extends HashedContent {
  hash: string;
  previousHash: string;
}

export interface ChainVerification {
  valid: boolean;
  events: number;
  /** The first revision whose hash or link does not match. */
  brokenAt?: bigint;
  reason?: string;
}

/** Checks a stream read forwards from revision 0, as stored (before any upcasting). */
export function verifyChain(events: Iterable<ChainedEvent>): ChainVerification {
  let expectedPrevious = GENESIS_HASH;
  let expectedRevision = 0n;
  let count = 0;
  for (const event of events) {
    count++;
    if (event.revision !== expectedRevision) {
      return {
        valid: false,
        events: count,
        brokenAt: event.revision,
        reason: `revision gap: expected ${expectedRevision}`,
      };
    }
    if (event.previousHash !== expectedPrevious) {
      return {
        valid: false,
        events: count,
        brokenAt: event.revision,
        reason: 'previousHash does not link to the prior event',
      };
    }
    if (eventHash(event.previousHash, event) !== event.hash) {
      return { valid: false, events: count, brokenAt: event.revision, reason: 'content does not match its hash' };
    }
    expectedPrevious = event.hash;
    expectedRevision++;
  }
  return { valid: true, events: count };
}

/**
 * The ledger digest (docs/decisions/0009): one chain over the whole log in position order, each link the sha-256 of
 * the previous link, the event's position and its hash. It starts at GENESIS_HASH; the digest at a position is the
 * link of the last event at or below it. Deleting, reordering or changing any event before it changes it.
 */
export function ledgerStep(previous: string, position: bigint, hash: string): string {
  return createHash('sha256').update(`${previous}\n${position}\n${hash}`, 'utf8').digest('hex');
}
