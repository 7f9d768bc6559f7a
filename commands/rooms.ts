import {
  type CalendarEvent,
  type CalendarState,
  calendarDecider,
  calendarStreamId,
} from '../domain/bookings/calendar.js';
import type { RoomCommand, SetBlockedDates } from '../domain/rooms/commands.js';
import { type RoomState, roomDecider } from '../domain/rooms/decider.js';
import { type RoomEvent, roomStreamId } from '../domain/rooms/events.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import { type CommandEnvelope, type CommandResult, type HandleOptions, handleCommand } from './handleCommand.js';
import { loadState } from './loadState.js';

/** Runs one room command against its stream (blocked dates: against the room's calendar stream). */
export async function runRoomCommand(
  store: EventStore,
  command: RoomCommand,
  envelope: CommandEnvelope,
  options?: HandleOptions,
): Promise<CommandResult<RoomState, RoomEvent>> {
  if (command.type === 'SetBlockedDates') {
    // Callers that still send blocks as a room command (the demo data) get them on the calendar.
    const [result, room] = await Promise.all([
      setBlockedDates(store, command, envelope, options),
      loadState(store, roomStreamId(command.data.roomId), roomDecider),
    ]);
    return {
      events: [],
      state: { ...room.state, blocked: [...blockedDatesOf(result.state)] },
      position: result.position,
      revision: room.revision,
    };
  }
  return handleCommand(store, roomStreamId(command.data.roomId), roomDecider, command, envelope, options);
}

/** The blocks a calendar state holds (none set on the calendar yet: []). */
export const blockedDatesOf = (state: CalendarState) => state.blocked ?? [];

/**
 * Sets a room's blocked dates on its calendar stream, where the holds are, so one expected revision decides
 * availability. The room's stream is read for its landlord and for its legacy blocks (the last
 * `RoomBlockedDatesSet`, which stand until the calendar has blocks of its own). `options.ifRevision` (If-Match)
 * is the calendar stream's revision, as answered by `PUT /api/rooms/{id}/availability`.
 */
export async function setBlockedDates(
  store: EventStore,
  command: SetBlockedDates,
  envelope: CommandEnvelope,
  options?: HandleOptions,
): Promise<CommandResult<CalendarState, CalendarEvent>> {
  const { roomId, blocked, horizonDays } = command.data;
  const { state: room } = await loadState(store, roomStreamId(roomId), roomDecider);
  const result = await handleCommand(
    store,
    calendarStreamId(roomId),
    calendarDecider,
    {
      type: 'SetBlockedDates',
      data: {
        roomId,
        room: { exists: room.status !== 'none', landlordId: room.landlordId ?? null, blocked: room.blocked },
        blocked,
        horizonDays,
      },
      context: command.context,
    },
    envelope,
    options,
  );
  // Legacy blocks still stand while the calendar has none of its own.
  return result.state.blocked === null ? { ...result, state: { ...result.state, blocked: room.blocked } } : result;
}
