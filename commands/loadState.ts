import type { Decider, DomainEvent } from '../domain/shared/decider.js';
import type { EventStore, RecordedEvent } from '../infra/eventStore/eventStore.js';
import type { SnapshotBase, StreamSnapshots } from './snapshots.js';

/** A stream folded by its decider: the state, and the revision it was read at (null: no stream yet). */
export interface LoadedState<State> {
  state: State;
  revision: bigint | null;
}

/** A stream as read for a decision: its latest snapshot (if any, and if its decider takes them) and the events after. */
export interface StreamRead<State> {
  base: SnapshotBase<State> | null;
  events: readonly RecordedEvent[];
}

type Folding<Event extends DomainEvent, State> = Pick<
  Decider<unknown, Event, State>,
  'evolve' | 'initialState' | 'snapshot'
>;

/**
 * Reads a stream and folds it with the decider's `evolve`: the one way the write side turns history into
 * state (commands, process managers, routes that check ownership before a command). With `snapshots`, a decider
 * that has a codec starts from the stream's latest snapshot and folds only the events after it.
 */
export async function loadState<Event extends DomainEvent, State>(
  store: EventStore,
  streamId: string,
  decider: Folding<Event, State>,
  snapshots?: StreamSnapshots,
): Promise<LoadedState<State>> {
  const read = await readStreamState(store, streamId, decider, snapshots);
  return foldHistory(read.events, decider, read.base);
}

/** The stream's latest snapshot and the events after it (all of them without one): what `handleCommand` decides on. */
export async function readStreamState<Event extends DomainEvent, State>(
  store: EventStore,
  streamId: string,
  decider: Folding<Event, State>,
  snapshots?: StreamSnapshots,
): Promise<StreamRead<State>> {
  const base = snapshots && decider.snapshot ? await snapshots.latest(streamId, decider.snapshot) : null;
  return { base, events: await readHistory(store, streamId, base ? base.revision + 1n : undefined) };
}

/** A stream's events in an array, from revision `from` (the start without it). */
export async function readHistory(store: EventStore, streamId: string, from?: bigint): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readStream(streamId, from === undefined ? undefined : { from })) events.push(event);
  return events;
}

/** Folds events already read (`readHistory`) with the decider's `evolve`, from `base` when they follow a snapshot. */
export function foldHistory<Event extends DomainEvent, State>(
  history: readonly RecordedEvent[],
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
  base: SnapshotBase<State> | null = null,
): LoadedState<State> {
  let state = base?.state ?? decider.initialState;
  for (const event of history) state = decider.evolve(state, { type: event.type, data: event.data } as Event);
  return { state, revision: history.at(-1)?.revision ?? base?.revision ?? null };
}
