import type { CommandContext } from '../shared/decider.js';
import type { NotificationChannel, NotificationKind } from './events.js';

export type RaiseNotification = {
  type: 'RaiseNotification';
  data: {
    notificationId: string;
    userId: string;
    kind: NotificationKind;
    subject: Record<string, string>;
    sourceEventId: string;
    raisedAt: string;
  };
  context: CommandContext;
};
export type MarkNotificationRead = {
  type: 'MarkNotificationRead';
  data: { notificationId: string; userId: string };
  context: CommandContext;
};
export type NotificationCommand = RaiseNotification | MarkNotificationRead;

export type ChannelSettings = Record<NotificationChannel, boolean>;

export type SetNotificationPreferences = {
  type: 'SetNotificationPreferences';
  /** The kinds named change; the others keep their setting. */
  data: { userId: string; kinds: Partial<Record<NotificationKind, Partial<ChannelSettings>>> };
  context: CommandContext;
};
export type NotificationPreferencesCommand = SetNotificationPreferences;
