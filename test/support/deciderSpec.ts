import { expect } from 'vitest';
import { type Decider, type DomainEvent, fold } from '../../domain/shared/decider.js';
import { DomainError } from '../../domain/shared/errors.js';

/** given(events).when(command).then(events) | thenThrows(code) | thenNothing() */
export function deciderSpec<Command, Event extends DomainEvent, State>(decider: Decider<Command, Event, State>) {
  return {
    given(events: Event[] = []) {
      const state = fold(decider, events);
      return {
        when(command: Command) {
          const run = () => decider.decide(command, state);
          return {
            // biome-ignore lint/suspicious/noThenProperty: the given/when/then vocabulary of STYLE.md
            then(expected: Event[]) {
              expect(run()).toEqual(expected);
            },
            thenThrows(code: string, kind?: DomainError['kind']) {
              let error: unknown;
              try {
                run();
              } catch (caught) {
                error = caught;
              }
              expect(error, `expected ${code} to be thrown`).toBeInstanceOf(DomainError);
              expect((error as DomainError).code).toBe(code);
              if (kind) expect((error as DomainError).kind).toBe(kind);
            },
            thenNothing() {
              expect(run()).toEqual([]);
            },
          };
        },
      };
    },
  };
}
