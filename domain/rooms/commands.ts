import type { CommandContext } from '../shared/decider.js';
import type { DateRange } from '../shared/values.js';
import type { RoomDetails, RoomPhoto } from './events.js';

export type CreateRoom = {
  type: 'CreateRoom';
  data: Omit<RoomDetails, 'description' | 'cancellationPolicy' | 'amenities'> & {
    roomId: string;
    description?: string | null;
    amenities: string[];
    cancellationPolicy?: RoomDetails['cancellationPolicy'];
  };
  context: CommandContext;
};
export type UpdateRoom = {
  type: 'UpdateRoom';
  data: { roomId: string; changes: Partial<Omit<RoomDetails, 'amenities'> & { amenities: string[] }> };
  context: CommandContext;
};
export type PublishRoom = { type: 'PublishRoom'; data: { roomId: string }; context: CommandContext };
export type UnpublishRoom = { type: 'UnpublishRoom'; data: { roomId: string }; context: CommandContext };
export type SetBlockedDates = {
  type: 'SetBlockedDates';
  data: {
    roomId: string;
    blocked: DateRange[];
    /** How many days ahead a block may reach (config AVAILABILITY_HORIZON_DAYS); 730 when absent. */
    horizonDays?: number;
  };
  context: CommandContext;
};

export type AddRoomPhotos = {
  type: 'AddRoomPhotos';
  data: { roomId: string; photos: RoomPhoto[] };
  context: CommandContext;
};
export type RemoveRoomPhoto = {
  type: 'RemoveRoomPhoto';
  data: { roomId: string; photoId: string };
  context: CommandContext;
};

export type RoomCommand =
  | CreateRoom
  | UpdateRoom
  | PublishRoom
  | UnpublishRoom
  | SetBlockedDates
  | AddRoomPhotos
  | RemoveRoomPhoto;
