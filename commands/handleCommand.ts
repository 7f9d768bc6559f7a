import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { type Decider, type DomainEvent, fold } from '../domain/shared/decider.js';
import {
  type EventMetadata,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
  WrongExpectedVersion,
} from '../infra/eventStore/eventStore.js';

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
   * The stream as the caller has just read it (`readHistory`), read at once with other streams: the first attempt
   * decides on it without reading again. A conflict on append reads afresh, as usual.
   */
  firstRead?: readonly RecordedEvent[];
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
  { maxRetries = 5, ifRevision, assumeNew = false, firstRead }: HandleOptions = {},
): Promise<CommandResult<State, Event>> {
  const seededId = (index: number) => uuidv5(`${envelope.idSeed}|${streamId}|${index}`, EVENT_ID_NAMESPACE);
  const firstSeededId = envelope.idSeed ? seededId(0) : undefined;
  for (let attempt = 0; ; attempt++) {
    const history: Event[] = [];
    let revision = -1n;
    let applied: { from: number; position: bigint; revision: bigint } | undefined;
    const stream =
      attempt > 0 ? store.readStream(streamId) : assumeNew ? [] : (firstRead ?? store.readStream(streamId));
    for await (const recorded of stream) {
      history.push({ type: recorded.type, data: recorded.data } as Event);
      revision = recorded.revision;
      if (recorded.eventId === firstSeededId)
        applied = { from: history.length - 1, position: recorded.position, revision };
      else if (applied && recorded.eventId === seededId(history.length - 1 - applied.from)) {
        applied = { ...applied, position: recorded.position, revision };
      }
    }
    const state = fold(decider, history);
    if (ifRevision !== undefined && !applied && ifRevision !== revision) {
      throw new PreconditionFailed(streamId, ifRevision, revision < 0n ? null : revision);
    }
    if (applied) {
      // The same request already went through (its response was lost): report it, decide nothing anew.
      const events = history.slice(applied.from, Number(applied.revision) + 1);
      return { events, state, position: applied.position, revision: applied.revision };
    }
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, position: null, revision: revision < 0n ? null : revision };
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
      return {
        events,
        state: events.reduce(decider.evolve, state),
        position: result.position,
        revision: result.nextExpectedRevision,
      };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersion)) throw error;
      if (attempt >= maxRetries) throw new ConcurrencyConflict(streamId, attempt + 1);
    }
  }
}
