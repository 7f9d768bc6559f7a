import type { CommandContext } from '../domain/shared/decider.js';
import type { AssignCandidate, UniversityCommand, UniversityContext } from '../domain/universities/commands.js';
import {
  type CandidateState,
  candidateDecider,
  type UniversityState,
  universityDecider,
} from '../domain/universities/decider.js';
import {
  type CandidateEvent,
  candidateStreamId,
  type UniversityEvent,
  universityStreamId,
} from '../domain/universities/events.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import { type CommandEnvelope, type CommandResult, handleCommand } from './handleCommand.js';
import { loadUser } from './identity.js';
import { loadState } from './loadState.js';

/** The acting person's university, read from their account for officials (role grants name it). */
export async function universityContext(store: EventStore, context: CommandContext): Promise<UniversityContext> {
  if (context.actorRole !== 'official') return { ...context, actorUniversityId: null };
  const { state } = await loadUser(store, context.actorId);
  return { ...context, actorUniversityId: state.role === 'official' ? (state.universityId ?? null) : null };
}

export async function loadUniversity(store: EventStore, universityId: string): Promise<UniversityState> {
  return (await loadState(store, universityStreamId(universityId), universityDecider)).state;
}

export function runUniversityCommand(
  store: EventStore,
  command: UniversityCommand,
  envelope: CommandEnvelope,
  maxRetries = 5,
): Promise<CommandResult<UniversityState, UniversityEvent>> {
  return handleCommand(store, universityStreamId(command.data.universityId), universityDecider, command, envelope, {
    maxRetries,
  });
}

/** Records where a candidate sits a session's exam; the session (and its venues) come from its university. */
export async function assignCandidate(
  store: EventStore,
  input: { tenantId: string; universityId: string; sessionId: string; venueId: string },
  context: UniversityContext,
  envelope: CommandEnvelope,
): Promise<CommandResult<CandidateState, CandidateEvent>> {
  const university = await loadUniversity(store, input.universityId);
  const session = university.sessions.get(input.sessionId);
  const command: AssignCandidate = {
    type: 'AssignCandidate',
    data: {
      tenantId: input.tenantId,
      venueId: input.venueId,
      session: session
        ? {
            universityId: input.universityId,
            sessionId: session.sessionId,
            venueIds: session.venueIds,
            endsOn: session.endsOn,
          }
        : null,
    },
    context,
  };
  return handleCommand(store, candidateStreamId(input.tenantId), candidateDecider, command, envelope);
}
