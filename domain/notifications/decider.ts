import type { Decider } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import type { ChannelSettings, NotificationCommand, NotificationPreferencesCommand } from './commands.js';
import {
  type NotificationChannel,
  NotificationChannels,
  type NotificationEvent,
  type NotificationKind,
  NotificationKinds,
  type NotificationPreferencesSet,
  type NotificationRaised,
  type NotificationRead,
} from './events.js';

/** One notification (its stream is `Notification-<notificationId>`): whose it is, and whether it was read. */
export interface NotificationState {
  userId: string | null;
  notification: {
    notificationId: string;
    kind: NotificationKind;
    subject: Record<string, string>;
    raisedAt: string;
    readAt: string | null;
  } | null;
}

export const initialNotificationState: NotificationState = { userId: null, notification: null };

const notFound = () => new DomainError('NOTIFICATION_NOT_FOUND', 'not_found', 'notification not found');

/**
 * The decider of `Notification-<notificationId>`: a notification is raised once (raising it again decides nothing),
 * read once, and only by its owner (anyone else is told it does not exist). One stream per notification keeps
 * every decision a read of one or two events, however many notifications a person has had.
 */
export const notificationDecider: Decider<
  NotificationCommand,
  NotificationRaised | NotificationRead,
  NotificationState
> = {
  initialState: initialNotificationState,
  schemaVersions: { NotificationRaised: 1, NotificationRead: 1 },

  decide(command, state) {
    switch (command.type) {
      case 'RaiseNotification': {
        if (command.context.actorRole !== 'system') {
          throw new DomainError('FORBIDDEN', 'forbidden', 'notifications are raised by the system');
        }
        if (state.notification) return [];
        return [{ type: 'NotificationRaised', data: { ...command.data } }];
      }
      case 'MarkNotificationRead': {
        const { notificationId, userId } = command.data;
        const own = command.context.actorRole === 'system' || command.context.actorId === userId;
        const notification = state.notification;
        if (!own || notification?.notificationId !== notificationId || state.userId !== userId) throw notFound();
        if (notification.readAt !== null) return [];
        return [{ type: 'NotificationRead', data: { notificationId, userId, readAt: command.context.now } }];
      }
      default: {
        const unhandled: never = command;
        throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'NotificationRaised':
        return {
          userId: event.data.userId,
          notification: {
            notificationId: event.data.notificationId,
            kind: event.data.kind,
            subject: event.data.subject,
            raisedAt: event.data.raisedAt,
            readAt: null,
          },
        };
      case 'NotificationRead':
        return state.notification
          ? { ...state, notification: { ...state.notification, readAt: event.data.readAt } }
          : state;
      default:
        return state;
    }
  },
};

export type Preferences = Record<NotificationKind, ChannelSettings>;

/**
 * What a person gets when they never chose: every kind by email and push; SMS only for what cannot wait
 * (the reminder the day before check-in and an overdue payment), as texts cost money and attention.
 */
export function defaultPreferences(): Preferences {
  const smsByDefault = new Set<NotificationKind>(['booking_reminder', 'payment_overdue']);
  return Object.fromEntries(
    NotificationKinds.map((kind) => [kind, { email: true, sms: smsByDefault.has(kind), push: true }]),
  ) as Preferences;
}

export interface PreferencesState {
  preferences: Preferences;
}

export const initialPreferencesState: PreferencesState = { preferences: defaultPreferences() };

const isKind = (kind: string): kind is NotificationKind => (NotificationKinds as readonly string[]).includes(kind);
const isChannel = (channel: string): channel is NotificationChannel =>
  (NotificationChannels as readonly string[]).includes(channel);

/**
 * The decider of `NotificationPreferences-<userId>`, kept apart from the notifications so that a send reads a
 * short stream. Only the person (or the system, for a one-click unsubscribe) changes them; a change that
 * changes nothing records nothing.
 */
export const preferencesDecider: Decider<NotificationPreferencesCommand, NotificationPreferencesSet, PreferencesState> =
  {
    initialState: initialPreferencesState,
    schemaVersions: { NotificationPreferencesSet: 1 },

    decide(command, state) {
      const { userId, kinds } = command.data;
      if (command.context.actorRole !== 'system' && command.context.actorId !== userId) {
        throw new DomainError('FORBIDDEN', 'forbidden', 'only the person sets their preferences');
      }
      const changed: NotificationPreferencesSet['data']['kinds'] = {};
      for (const [kind, channels] of Object.entries(kinds)) {
        if (!isKind(kind)) throw new DomainError('UNKNOWN_KIND', 'validation', `no notification kind ${kind}`);
        const before = state.preferences[kind];
        const after = { ...before };
        for (const [channel, on] of Object.entries(channels ?? {})) {
          if (!isChannel(channel)) throw new DomainError('UNKNOWN_CHANNEL', 'validation', `no channel ${channel}`);
          if (typeof on === 'boolean') after[channel] = on;
        }
        if (NotificationChannels.some((channel) => after[channel] !== before[channel])) changed[kind] = after;
      }
      if (Object.keys(changed).length === 0) return [];
      return [{ type: 'NotificationPreferencesSet', data: { userId, kinds: changed, setAt: command.context.now } }];
    },

    evolve(state, event) {
      if (event.type !== 'NotificationPreferencesSet') return state;
      const preferences = { ...state.preferences };
      for (const [kind, channels] of Object.entries(event.data.kinds)) {
        if (isKind(kind) && channels) preferences[kind] = { ...preferences[kind], ...channels };
      }
      return { preferences };
    },
  };

export const notificationPreferencesStreamId = (userId: string) => `NotificationPreferences-${userId}`;

/** Events of the notifications context, as read by projections (the decider's own events). */
export type { NotificationEvent };
