/** Who acts and when: everything a decision may depend on besides the command and the state. */
export interface CommandContext {
  /** ISO 8601 instant the command is decided at. */
  now: string;
  actorId: string;
  /** `system`: scheduled jobs and process managers (hold expiry, completion), never an HTTP caller. */
  actorRole: Role | 'system';
}

export const Roles = ['tenant', 'landlord', 'official', 'admin', 'auditor', 'support', 'analyst'] as const;
export type Role = (typeof Roles)[number];

/** An event as the domain sees it: a fact with a type and its data. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

export interface Decider<Command, Event extends DomainEvent, State> {
  initialState: State;
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  /** The schema version each event type is written with (reads are upcast to it). */
  schemaVersions: Readonly<Record<Event['type'], number>>;
  /**
   * Set on the deciders of streams long enough to be worth a snapshot (commands/snapshots.ts). Only for a state that
   * holds no personal data: a snapshot is not sealed, so erasure could not reach it.
   */
  snapshot?: SnapshotCodec<State>;
}

/**
 * A state as plain JSON and back. `version` must change whenever `evolve` or the encoding does: a snapshot of another
 * version is ignored (the stream is folded in full, and the next snapshot replaces it).
 */
export interface SnapshotCodec<State> {
  version: number;
  encode(state: State): unknown;
  decode(json: unknown): State;
}

export function fold<Event extends DomainEvent, State>(
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
  events: Iterable<Event>,
): State {
  let state = decider.initialState;
  for (const event of events) state = decider.evolve(state, event);
  return state;
}
