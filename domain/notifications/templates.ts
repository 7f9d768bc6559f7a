import type { NotificationKind } from './events.js';

/**
 * What a notification says, from the read models at send time. Every value here may come from a user (names,
 * room titles): the HTML body escapes each of them, the text body and the subject take them as plain text
 * without line breaks.
 */
export interface NotificationDetails {
  recipientName?: string | null;
  bookingReference?: string | null;
  roomTitle?: string | null;
  checkIn?: string | null;
  checkOut?: string | null;
  /** Formatted amount with its currency, e.g. `135.00 EUR`. */
  amount?: string | null;
  otherPartyName?: string | null;
  /** A digest: how many messages arrived in its window. */
  messageCount?: number;
  /** Where the person acts on it (the booking, the conversation), an https URL of the app. */
  link: string;
  /** The one-click unsubscribe URL of this kind (RFC 8058); the email footer links it too. */
  unsubscribeUrl?: string;
}

export interface RenderedNotification {
  subject: string;
  text: string;
  html: string;
  /** At most 320 characters (two SMS segments). */
  sms: string;
  push: { title: string; body: string };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside HTML elements and quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

const MAX_VALUE = 120;

/** A user value as one line of plain text: control characters and line breaks gone, at most 120 characters. */
export function plain(value: string | null | undefined, fallback = ''): string {
  if (value === null || value === undefined) return fallback;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const line = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  if (line.length === 0) return fallback;
  const chars = [...line];
  return chars.length > MAX_VALUE ? `${chars.slice(0, MAX_VALUE - 1).join('')}…` : line;
}

interface Wording {
  subject: string;
  lines: string[];
  action: string;
}

function wordingOf(kind: NotificationKind, d: NotificationDetails): Wording {
  const booking = plain(d.bookingReference, 'your booking');
  const room = plain(d.roomTitle, 'the room');
  const stay = d.checkIn && d.checkOut ? `${plain(d.checkIn)} to ${plain(d.checkOut)}` : 'your dates';
  const other = plain(d.otherPartyName, 'Someone');
  switch (kind) {
    case 'booking_requested':
      return {
        subject: `New booking request ${booking}`,
        lines: [`${other} asks to stay at ${room} from ${stay}.`, 'Confirm or decline it before the hold expires.'],
        action: 'Review the request',
      };
    case 'booking_confirmed':
      return {
        subject: `Booking ${booking} confirmed`,
        lines: [
          `Your stay at ${room} from ${stay} is confirmed.`,
          `Booking reference: ${booking}.`,
          ...(d.amount ? [`Payment: ${plain(d.amount)} in cash to your landlord, due at check-in.`] : []),
        ],
        action: 'See your booking',
      };
    case 'booking_rejected':
      return {
        subject: `Booking ${booking} declined`,
        lines: [
          `The landlord of ${room} declined your request for ${stay}.`,
          'The nights are free for you to book elsewhere.',
        ],
        action: 'Find another room',
      };
    case 'booking_expired':
      return {
        subject: `Booking request ${booking} expired`,
        lines: [`The landlord of ${room} did not answer your request for ${stay} in time.`],
        action: 'Find another room',
      };
    case 'booking_reminder':
      return {
        subject: `Tomorrow: check-in at ${room}`,
        lines: [`Your stay at ${room} starts tomorrow (${stay}).`, `Booking reference: ${booking}.`],
        action: 'See your booking',
      };
    case 'payment_due':
      return {
        subject: `Payment due for ${booking}`,
        lines: [`${d.amount ? plain(d.amount) : 'The amount of your stay'} is due at check-in for ${room}.`],
        action: 'See the payment',
      };
    case 'payment_overdue':
      return {
        subject: `Payment overdue for ${booking}`,
        lines: [
          `The payment for your stay at ${room} is overdue${d.amount ? `: ${plain(d.amount)} outstanding` : ''}.`,
        ],
        action: 'See the payment',
      };
    case 'message_received': {
      const count = d.messageCount ?? 1;
      return {
        subject: count > 1 ? `${count} new messages from ${other}` : `New message from ${other}`,
        lines: [
          count > 1
            ? `${other} sent you ${count} messages on Roomline while you were away.`
            : `${other} sent you a message on Roomline.`,
        ],
        action: 'Read and reply',
      };
    }
    case 'review_received':
      return {
        subject: `New review for ${room}`,
        lines: [`${other} reviewed ${room}.`],
        action: 'Read the review',
      };
    case 'saved_search_match':
      return {
        subject: `A room matches your saved search: ${room}`,
        lines: [`${room} is free for ${stay}.`],
        action: 'See the room',
      };
    default: {
      const unhandled: never = kind;
      throw new Error(`no template for ${String(unhandled)}`);
    }
  }
}

/** The subject, bodies, SMS and push of one notification (or a digest of messages). */
export function renderNotification(kind: NotificationKind, details: NotificationDetails): RenderedNotification {
  const wording = wordingOf(kind, details);
  const greeting = `Hello ${plain(details.recipientName, 'there')},`;
  const footer = details.unsubscribeUrl
    ? ['', `You get these mails because of your Roomline notification settings. Unsubscribe: ${details.unsubscribeUrl}`]
    : [];
  const text = [greeting, '', ...wording.lines, '', `${wording.action}: ${details.link}`, ...footer].join('\n');
  const paragraph = (line: string) => `<p>${escapeHtml(line)}</p>`;
  const html = [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>',
    escapeHtml(wording.subject),
    '</title></head><body>',
    paragraph(greeting),
    ...wording.lines.map(paragraph),
    `<p><a href="${escapeHtml(details.link)}">${escapeHtml(wording.action)}</a></p>`,
    ...(details.unsubscribeUrl
      ? [
          `<p style="font-size:12px;color:#666">You get these mails because of your Roomline notification settings. `,
          `<a href="${escapeHtml(details.unsubscribeUrl)}">Unsubscribe</a></p>`,
        ]
      : []),
    '</body></html>',
  ].join('');
  const smsText = `Roomline: ${wording.subject}. ${details.link}`;
  return {
    subject: wording.subject,
    text,
    html,
    sms: [...smsText].length > 320 ? `${[...smsText].slice(0, 319).join('')}…` : smsText,
    push: { title: wording.subject, body: wording.lines[0] ?? '' },
  };
}
