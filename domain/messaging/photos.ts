import type { CommandContext, Decider } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import { type MessagePhotoEvent, type MessagePhotoUploaded, messagePhotoSchemaVersions } from './events.js';

/** Records a photo uploaded for a message (the file store already holds it). */
export interface UploadMessagePhoto {
  type: 'UploadMessagePhoto';
  data: Omit<MessagePhotoUploaded['data'], 'uploaderId' | 'uploadedAt'>;
  context: CommandContext;
}

export interface MessagePhotoState {
  status: 'none' | 'uploaded';
  uploaderId: string | null;
  key?: string;
  thumbnailKey?: string;
  contentType?: MessagePhotoUploaded['data']['contentType'];
}

export const initialMessagePhotoState: MessagePhotoState = { status: 'none', uploaderId: null };

export function decide(command: UploadMessagePhoto, state: MessagePhotoState): MessagePhotoEvent[] {
  const { context } = command;
  if (context.actorRole === 'system') throw new DomainError('PERSON_ONLY', 'forbidden', 'a person uploads photos');
  if (state.status === 'uploaded') {
    if (state.uploaderId !== context.actorId) {
      throw new DomainError('PHOTO_EXISTS', 'conflict', 'this photo id is taken');
    }
    return []; // a retried upload
  }
  return [
    { type: 'MessagePhotoUploaded', data: { ...command.data, uploaderId: context.actorId, uploadedAt: context.now } },
  ];
}

export function evolve(_state: MessagePhotoState, event: MessagePhotoEvent): MessagePhotoState {
  switch (event.type) {
    case 'MessagePhotoUploaded': {
      const { uploaderId, key, thumbnailKey, contentType } = event.data;
      return { status: 'uploaded', uploaderId, key, thumbnailKey, contentType };
    }
    default: {
      const unhandled: never = event.type;
      throw new Error(`unknown event ${unhandled as string}`);
    }
  }
}

export const messagePhotoDecider: Decider<UploadMessagePhoto, MessagePhotoEvent, MessagePhotoState> = {
  initialState: initialMessagePhotoState,
  decide,
  evolve,
  schemaVersions: messagePhotoSchemaVersions,
};
