import type { Decider, DomainEvent } from '../domain/shared/decider.js';
import type { EventStore, RecordedEvent } from '../infra/eventStore/eventStore.js';

/** A stream folded by its decider: the state, and the revision it was read at (null: no stream yet). */
export interface LoadedState<State> {
  state: State;
  revision: bigint | null;
}

/**
 * Reads a stream and folds it with the decider's `evolve`: the one way the write side turns history into
 * state (commands, process managers, routes that check ownership before a command).
 */
export async function loadState<Event extends DomainEvent, State>(
  store: EventStore,
  streamId: string,
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
): Promise<LoadedState<State>> {
  return foldHistory(await readHistory(store, streamId), decider);
}

/** A stream's events in an array: read once, then folded here and decided on by `handleCommand` (`firstRead`). */
export async function readHistory(store: EventStore, streamId: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readStream(streamId)) events.push(event);
  return events;
}

/** Folds events already read (`readHistory`) with the decider's `evolve`, as `loadState` does while reading. */
export function foldHistory<Event extends DomainEvent, State>(
  history: readonly RecordedEvent[],
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
): LoadedState<State> {
  let state = decider.initialState;
  for (const event of history) state = decider.evolve(state, { type: event.type, data: event.data } as Event);
  return { state, revision: history.at(-1)?.revision ?? null };
}
