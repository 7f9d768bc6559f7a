import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { Decider, DomainEvent } from '../domain/shared/decider.js';
import {
  type EventMetadata,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
  WrongExpectedVersion,
} from '../infra/eventStore/eventStore.js';
import { readStreamState, type StreamRead } from './loadState.js';
import type { StreamSnapshots } from './snapshots.js';

/** Raised when a command kept losing the race for its stream: HTTP 409. */
export class ConcurrencyConflict extends Error {
  readonly code = 'CONCURRENCY_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly attempts: number,
  ) {
    super(`stream ${streamId} kept changing; gave up after ${attempts} attempts`);
    this.name = 'ConcurrencyConflict';
  }
}

export interface CommandEnvelope {
  /** Correlation, causation, request and actor: copied into every event's metadata. */
  metadata: Omit<EventMetadata, 'occurredAt'>;
  /** ISO instant the command is decided at. */
  now: string;
  /**
   * Stable seed for event ids (e.g. the user's Idempotency-Key): a retried request produces the same
   * ids, so the store treats its append as already done. Without it ids are random.
   */
  idSeed?: string;
  newId(): string;
}

export interface CommandResult<State, Event> {
  events: Event[];
  state: State;
  /** Position of the last event appended; null when the command changed nothing. */
  position: bigint | null;
  revision: bigint | null;
}

/** The caller based its change on a revision that is no longer current (HTTP 412). */
export class PreconditionFailed extends Error {
  readonly code = 'PRECONDITION_FAILED';
  constructor(
    readonly streamId: string,
    readonly expected: bigint,
    readonly actual: bigint | null,
  ) {
    super(`expected revision ${expected} of ${streamId}, it is at ${actual ?? 'nothing'}`);
    this.name = 'PreconditionFailed';
  }
}

export interface HandleOptions {
  maxRetries?: number;
  /** If-Match: the revision the caller saw; anything else fails with PreconditionFailed. */
  ifRevision?: bigint;
  /**
   * The caller has just read the stream and found it empty: the first attempt decides on the initial state
   * without reading it again (one round trip less). Should the stream exist after all, the append fails on
   * its expected revision and the next attempt reads as usual.
   */
  assumeNew?: boolean;
  /**
   * The stream as the caller has just read it (`readStreamState`), read at once with other streams: the first attempt
   * decides on it without reading again. A conflict on append reads afresh, as usual.
   */
  firstRead?: StreamRead<unknown>;
  /**
   * Where the decider's snapshots are (`Decider.snapshot`): a read starts from the latest one, and a snapshot is
   * taken when at least `snapshots.every` events were folded since it. A retried request (same `idSeed`) whose
   * events are older than the snapshot is not recognised as such here: it is decided again on the current state, so
   * only deciders that answer a repeated command with no events take snapshots (the calendar's do).
   */
  snapshots?: StreamSnapshots;
}

/**
 * The envelope of a command a process manager sends because of `cause`: the same correlation, caused by it, sent by
 * the system, its event ids seeded by `idSeed` (name the process, the cause and the effect) so a replay appends
 * nothing new.
 */
export function envelopeCausedBy(cause: RecordedEvent, idSeed: string, now: Date): CommandEnvelope {
  return {
    now: now.toISOString(),
    idSeed,
    newId: randomUUID,
    metadata: {
      correlationId: cause.metadata.correlationId,
      causationId: cause.eventId,
      actorId: 'system',
      actorRole: 'system',
      requestId: null,
    },
  };
}

/** The envelope of a command the system runs on its own schedule (a sweep): no request, no cause, a new correlation. */
export function systemEnvelope(now: string): CommandEnvelope {
  return {
    now,
    newId: randomUUID,
    metadata: {
      correlationId: randomUUID(),
      causationId: null,
      actorId: 'system',
      actorRole: 'system',
      requestId: null,
    },
  };
}

const EVENT_ID_NAMESPACE = '6f1c1a53-4d5e-4c0e-9a57-3f1d1b9a2f10';

/**
 * Reads the stream, folds it, decides, appends with the revision read; on a concurrency conflict
 * it reads again and decides again, at most `maxRetries` more times.
 */
export async function handleCommand<Command, Event extends DomainEvent, State>(
  store: EventStore,
  streamId: string,
  decider: Decider<Command, Event, State>,
  command: Command,
  envelope: CommandEnvelope,
  { maxRetries = 5, ifRevision, assumeNew = false, firstRead, snapshots }: HandleOptions = {},
): Promise<CommandResult<State, Event>> {
  const seededId = (index: number) => uuidv5(`${envelope.idSeed}|${streamId}|${index}`, EVENT_ID_NAMESPACE);
  const firstSeededId = envelope.idSeed ? seededId(0) : undefined;
  const codec = snapshots ? decider.snapshot : undefined;
  for (let attempt = 0; ; attempt++) {
    const read: StreamRead<State> =
      attempt === 0 && assumeNew
        ? { base: null, events: [] }
        : attempt === 0 && firstRead
          ? (firstRead as StreamRead<State>)
          : await readStreamState(store, streamId, decider, snapshots);
    const base = read.base?.revision ?? null;
    let state = read.base?.state ?? decider.initialState;
    let revision = base ?? -1n;
    // The events of this very request, when it went through before (its response was lost): indexes into the read.
    let applied: { from: number; to: number; position: bigint; revision: bigint } | undefined;
    read.events.forEach((recorded, index) => {
      state = decider.evolve(state, { type: recorded.type, data: recorded.data } as Event);
      revision = recorded.revision;
      if (recorded.eventId === firstSeededId)
        applied = { from: index, to: index, position: recorded.position, revision };
      else if (applied && recorded.eventId === seededId(index - applied.from)) {
        applied = { ...applied, to: index, position: recorded.position, revision };
      }
    });
    if (ifRevision !== undefined && !applied && ifRevision !== revision) {
      throw new PreconditionFailed(streamId, ifRevision, revision < 0n ? null : revision);
    }
    if (applied) {
      // The same request already went through (its response was lost): report it, decide nothing anew.
      const events = read.events
        .slice(applied.from, applied.to + 1)
        .map((recorded) => ({ type: recorded.type, data: recorded.data }) as Event);
      return { events, state, position: applied.position, revision: applied.revision };
    }
    const events = decider.decide(command, state);
    if (events.length === 0) {
      if (codec && revision >= 0n) await snapshots!.folded(streamId, codec, state, revision, base);
      return { events, state, position: null, revision: revision < 0n ? null : revision };
    }
    const toAppend: NewEvent[] = events.map((event, index) => ({
      eventId: envelope.idSeed ? seededId(index) : envelope.newId(),
      type: event.type,
      schemaVersion: decider.schemaVersions[event.type as Event['type']],
      data: event.data,
      metadata: { ...envelope.metadata, occurredAt: envelope.now },
    }));
    try {
      const result = await store.append(streamId, toAppend, {
        expectedRevision: revision < 0n ? 'no_stream' : revision,
      });
      const after = events.reduce(decider.evolve, state);
      if (codec) await snapshots!.folded(streamId, codec, after, result.nextExpectedRevision, base);
      return { events, state: after, position: result.position, revision: result.nextExpectedRevision };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersion)) throw error;
      if (attempt >= maxRetries) throw new ConcurrencyConflict(streamId, attempt + 1);
    }
  }
}
