import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { EventStore, RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { eventHash, GENESIS_HASH, ledgerStep } from '../../infra/eventStore/hashChain.js';

/**
 * The ledger (docs/decisions/0009) as auditors use it: `verifyLedger` recomputes the log against a digest they kept,
 * `ledgerExport` writes a range with its links, `verifyExport` checks such a copy offline. `ledgerProjection` keeps
 * the chain's rows as the log grows.
 */

/** One exported event: the stored envelope, positions and revisions as decimal strings. */
export interface ExportedEvent {
  position: string;
  streamId: string;
  revision: string;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: unknown;
  recordedAt: string;
  hash: string;
  previousHash: string;
}

/** The first line of an export: the range, and the ledger link just before its first event (decision 0009). */
export interface ExportHeader {
  from: string;
  to: string;
  startLink: string;
}

/** The last line of an export. */
export interface ExportManifest {
  count: number;
  /** sha-256 hex of the event lines (between the header and the manifest), newlines included. */
  sha256: string;
  /** The ledger link after the last exported event: the digest at `lastPosition`. */
  digest: string;
  lastPosition: string | null;
}

/** An event as the audit API and exports show it: as stored, positions and revisions as decimal strings. */
export const toExported = (event: RecordedEvent): ExportedEvent => ({
  position: event.position.toString(),
  streamId: event.streamId,
  revision: event.revision.toString(),
  eventId: event.eventId,
  type: event.type,
  schemaVersion: event.schemaVersion,
  data: event.data,
  metadata: event.metadata,
  recordedAt: event.recordedAt,
  hash: event.hash,
  previousHash: event.previousHash,
});

/**
 * The events from `from` to `to` (positions, both included) as NDJSON: a header line `{ "export": … }` with the
 * ledger link before them, the events as stored, then a manifest line `{ "manifest": … }` with their count, the
 * sha-256 of their lines and the ledger link after them (the digest at the last one, comparable with a signed
 * digest), so a copy can be checked offline (`verifyExport`). The link before `from` starts at the newest ledger
 * row below it and chains the events between.
 */
export async function* ledgerExport(
  deps: { store: EventStore; pool: pg.Pool },
  from: bigint,
  to: bigint,
  onProgress?: (events: number) => void,
): AsyncIterable<string> {
  const { rows } = await deps.pool.query<{ position: string; digest: string }>(
    'SELECT position, digest FROM audit_ledger WHERE position < $1 ORDER BY position DESC LIMIT 1',
    [from.toString()],
  );
  let link = rows[0]?.digest ?? GENESIS_HASH;
  const after = rows[0] ? BigInt(rows[0].position) : -1n;
  const events = deps.store.readAll({ fromPosition: after })[Symbol.asyncIterator]();
  // The events between the ledger row and `from` only move the link; the first one in range is kept.
  let first: RecordedEvent | undefined;
  for (let next = await events.next(); !next.done; next = await events.next()) {
    if (next.value.position >= from) {
      first = next.value;
      break;
    }
    link = ledgerStep(link, next.value.position, next.value.hash);
  }
  yield `${JSON.stringify({ export: { from: from.toString(), to: to.toString(), startLink: link } })}\n`;
  const sha = createHash('sha256');
  let count = 0;
  let last: bigint | null = null;
  for (let event = first; event !== undefined && event.position <= to; ) {
    const line = `${JSON.stringify(toExported(event))}\n`;
    sha.update(line, 'utf8');
    link = ledgerStep(link, event.position, event.hash);
    count++;
    last = event.position;
    if (count % 10_000 === 0) onProgress?.(count);
    yield line;
    const next = await events.next();
    event = next.done ? undefined : next.value;
  }
  await events.return?.();
  const manifest: ExportManifest = {
    count,
    sha256: sha.digest('hex'),
    digest: link,
    lastPosition: last?.toString() ?? null,
  };
  yield `${JSON.stringify({ manifest })}\n`;
}

export interface ExportVerification {
  valid: boolean;
  count: number;
  /** What is wrong, for the first problem found. */
  problem?: string;
  /** The position of the first event that does not match its hash, or where the file and manifest part. */
  firstDifference?: string;
}

/**
 * Checks an export offline from its lines alone: the manifest is the last line, the sha-256 and count of the lines
 * before it match it, every event's content matches its hash (and links to the one before it in its stream when
 * both are in the file), and the ledger chain from `startLink` over them ends at `digest`.
 */
export async function verifyExport(lines: AsyncIterable<string>): Promise<ExportVerification> {
  const sha = createHash('sha256');
  let header: ExportHeader | undefined;
  let link = GENESIS_HASH;
  let count = 0;
  let pending: string | undefined;
  const lastOf = new Map<string, { revision: bigint; hash: string }>();
  const check = (line: string): ExportVerification | undefined => {
    sha.update(`${line}\n`, 'utf8');
    const exported = JSON.parse(line) as ExportedEvent;
    const revision = BigInt(exported.revision);
    count++;
    const recomputed = eventHash(exported.previousHash, { ...exported, revision });
    const before = lastOf.get(exported.streamId);
    const unlinked = before !== undefined && before.revision + 1n === revision && before.hash !== exported.previousHash;
    if (recomputed !== exported.hash || unlinked) {
      return {
        valid: false,
        count,
        problem: unlinked ? 'an event does not link to the one before it' : 'an event does not match its hash',
        firstDifference: exported.position,
      };
    }
    lastOf.set(exported.streamId, { revision, hash: exported.hash });
    link = ledgerStep(link, BigInt(exported.position), exported.hash);
    return undefined;
  };
  try {
    for await (const line of lines) {
      if (line === '') continue;
      if (header === undefined) {
        header = (JSON.parse(line) as { export?: ExportHeader }).export;
        if (!header) return { valid: false, count: 0, problem: 'the first line is not an export header' };
        link = header.startLink;
        continue;
      }
      if (pending !== undefined) {
        const problem = check(pending);
        if (problem) return problem;
      }
      pending = line;
    }
  } catch {
    return { valid: false, count, problem: `line ${count + 2} is not JSON` };
  }
  if (!header) return { valid: false, count: 0, problem: 'the file is empty' };
  let manifest: ExportManifest | undefined;
  try {
    manifest = pending === undefined ? undefined : (JSON.parse(pending) as { manifest?: ExportManifest }).manifest;
  } catch {
    manifest = undefined;
  }
  if (!manifest) return { valid: false, count, problem: 'the last line is not a manifest' };
  if (manifest.count !== count) return { valid: false, count, problem: `the manifest counts ${manifest.count} events` };
  if (sha.digest('hex') !== manifest.sha256) {
    return { valid: false, count, problem: 'the lines do not match the manifest’s sha-256' };
  }
  if (link !== manifest.digest) {
    return { valid: false, count, problem: 'the ledger chain over the events does not end at the manifest’s digest' };
  }
  return { valid: true, count };
}

export interface LedgerVerification {
  valid: boolean;
  events: number;
  /** The first position that differs, when not valid and it can be told. */
  firstDifference?: string;
}

/**
 * Recomputes the ledger up to `upTo` from the events as stored (each hash from its content) and compares it with a
 * kept `digest`. The first difference is the first event whose content no longer matches its hash; failing that
 * (hashes rewritten to match), the first event after the last recorded row that still agrees with the chain.
 */
export async function verifyLedger(
  deps: { store: EventStore; pool: pg.Pool },
  upTo: bigint,
  digest: string,
): Promise<LedgerVerification> {
  const { rows } = await deps.pool.query<{ position: string; digest: string }>(
    'SELECT position, digest FROM audit_ledger WHERE position <= $1 ORDER BY position',
    [upTo.toString()],
  );
  const recorded = new Map(rows.map((row) => [BigInt(row.position), row.digest]));
  let link = GENESIS_HASH;
  let events = 0;
  let altered: bigint | undefined;
  let partedAt: bigint | undefined;
  let firstAfterAgreement: bigint | undefined;
  for await (const event of deps.store.readAll()) {
    if (event.position > upTo) break;
    events++;
    const hash = eventHash(event.previousHash, event);
    if (hash !== event.hash) altered ??= event.position;
    if (partedAt === undefined && firstAfterAgreement === undefined) firstAfterAgreement = event.position;
    link = ledgerStep(link, event.position, hash);
    const kept = recorded.get(event.position);
    if (kept !== undefined && partedAt === undefined) {
      if (kept === link) firstAfterAgreement = undefined;
      else partedAt = firstAfterAgreement;
    }
    // A long log yields to other requests now and then.
    if (events % 5000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const valid = link === digest && altered === undefined;
  const firstDifference = valid ? undefined : (altered ?? partedAt ?? firstAfterAgreement);
  return { valid, events, ...(firstDifference !== undefined ? { firstDifference: firstDifference.toString() } : {}) };
}
