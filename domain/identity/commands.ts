import type { CommandContext, Role } from '../shared/decider.js';
import type { Profile } from './events.js';

export type RegisterUser = {
  type: 'RegisterUser';
  data: {
    userId: string;
    role: Role;
    email: string;
    /** Required, except for the bootstrap admin. */
    phone: string | null;
    fullName: string;
    universityName?: string | null;
    businessName?: string | null;
    /** The first admin, created from configuration at start-up. */
    bootstrap?: boolean;
  };
  context: CommandContext;
};
export type UpdateProfile = {
  type: 'UpdateProfile';
  data: { userId: string; changes: Partial<Omit<Profile, 'email'>> };
  context: CommandContext;
};
export type GrantRole = {
  type: 'GrantRole';
  data: { userId: string; role: Role; universityId?: string | null };
  context: CommandContext;
};
export type ErasePersonalData = { type: 'ErasePersonalData'; data: { userId: string }; context: CommandContext };

export type UserCommand = RegisterUser | UpdateProfile | GrantRole | ErasePersonalData;

export type ReservationCommand =
  | { type: 'Reserve'; data: { userId: string; takenCode: string }; context: CommandContext }
  | { type: 'Release'; data: { userId: string }; context: CommandContext };
