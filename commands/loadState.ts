import type { Decider, DomainEvent } from '../domain/shared/decider.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';

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
  let state = decider.initialState;
  let revision: bigint | null = null;
  for await (const event of store.readStream(streamId)) {
    state = decider.evolve(state, { type: event.type, data: event.data } as Event);
    revision = event.revision;
  }
  return { state, revision };
}
