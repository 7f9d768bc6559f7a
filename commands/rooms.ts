import type { RoomCommand } from '../domain/rooms/commands.js';
import { type RoomState, roomDecider } from '../domain/rooms/decider.js';
import { type RoomEvent, roomStreamId } from '../domain/rooms/events.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import { type CommandEnvelope, type CommandResult, type HandleOptions, handleCommand } from './handleCommand.js';

/** Runs one room command against its stream. */
export function runRoomCommand(
  store: EventStore,
  command: RoomCommand,
  envelope: CommandEnvelope,
  options?: HandleOptions,
): Promise<CommandResult<RoomState, RoomEvent>> {
  return handleCommand(store, roomStreamId(command.data.roomId), roomDecider, command, envelope, options);
}
