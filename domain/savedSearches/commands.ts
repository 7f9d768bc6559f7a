import type { CommandContext } from '../shared/decider.js';
import type { MatchReason, SavedSearchCriteria } from './events.js';

export type CreateSavedSearch = {
  type: 'CreateSavedSearch';
  data: {
    searchId: string;
    criteria: SavedSearchCriteria;
    name: string | null;
    /** The tenant's saved searches not deleted, as the read model counts them (the cap is checked against it). */
    activeSearches: number;
  };
  context: CommandContext;
};
export type DeleteSavedSearch = { type: 'DeleteSavedSearch'; data: { searchId: string }; context: CommandContext };
/** Sent by the matcher (a process manager) when a room published or freed by `sourceEventId` matches. */
export type RecordSavedSearchMatch = {
  type: 'RecordSavedSearchMatch';
  data: { searchId: string; roomId: string; reason: MatchReason; sourceEventId: string };
  context: CommandContext;
};

export type SavedSearchCommand = CreateSavedSearch | DeleteSavedSearch | RecordSavedSearchMatch;
