import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BookingRequested } from '../../../domain/bookings/events.js';
import type { RaiseNotification } from '../../../domain/notifications/commands.js';
import { defaultPreferences, notificationDecider, preferencesDecider } from '../../../domain/notifications/decider.js';
import type { NotificationRaised } from '../../../domain/notifications/events.js';
import { notificationsFor } from '../../../domain/notifications/rules.js';
import { escapeHtml, plain, renderNotification } from '../../../domain/notifications/templates.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const now = new Date().toISOString();
const system = { actorId: 'system', actorRole: 'system' as const, now };
const userId = randomUUID();

function raise(overrides: Partial<RaiseNotification['data']> = {}): RaiseNotification {
  return {
    type: 'RaiseNotification',
    data: {
      notificationId: randomUUID(),
      userId,
      kind: 'booking_confirmed',
      subject: { bookingId: randomUUID() },
      sourceEventId: randomUUID(),
      raisedAt: now,
      ...overrides,
    },
    context: system,
  };
}
const raised = (command: RaiseNotification): NotificationRaised => ({ type: 'NotificationRaised', data: command.data });

describe('notification rules', () => {
  const booking = { tenantId: randomUUID(), landlordId: randomUUID() };
  const bookingId = randomUUID();

  it('tells the landlord of a request, the tenant of its outcome, payments and reminders', () => {
    const requested = {
      type: 'BookingRequested',
      data: { bookingId, roomId: randomUUID(), ...booking },
    } as unknown as BookingRequested;
    expect(notificationsFor(requested, { booking: null })).toEqual([
      { userId: booking.landlordId, kind: 'booking_requested', subject: { bookingId, roomId: requested.data.roomId } },
    ]);
    for (const [type, kind] of [
      ['BookingConfirmed', 'booking_confirmed'],
      ['BookingRejected', 'booking_rejected'],
      ['BookingExpired', 'booking_expired'],
      ['PaymentOverdue', 'payment_overdue'],
    ] as const) {
      const event = { type, data: { bookingId } } as never;
      expect(notificationsFor(event, { booking })).toEqual([
        { userId: booking.tenantId, kind, subject: { bookingId } },
      ]);
      expect(notificationsFor(event, { booking: null }), `${type} of an unknown booking`).toEqual([]);
    }
    expect(
      notificationsFor({ type: 'PaymentRecordOpened', data: { bookingId, tenantId: booking.tenantId } } as never, {
        booking: null,
      }),
    ).toEqual([{ userId: booking.tenantId, kind: 'payment_due', subject: { bookingId } }]);
    expect(
      notificationsFor(
        { type: 'BookingReminderDue', data: { bookingId, tenantId: booking.tenantId, checkIn: '2030-01-01' } },
        { booking: null },
      ),
    ).toEqual([{ userId: booking.tenantId, kind: 'booking_reminder', subject: { bookingId } }]);
  });

  it('tells the recipient of a message, never its sender', () => {
    const senderId = randomUUID();
    const recipientId = randomUUID();
    const message = {
      type: 'MessageSent',
      data: { conversationId: randomUUID(), messageId: randomUUID(), senderId, recipientId },
    } as never;
    const [intent] = notificationsFor(message, { booking: null });
    expect(intent).toMatchObject({ userId: recipientId, kind: 'message_received' });
    expect(intent!.subject.senderId).toBe(senderId);
  });
});

describe('notifications decider', () => {
  const spec = deciderSpec(notificationDecider);

  it('raises a notification once per id', () => {
    const command = raise();
    spec
      .given()
      .when(command)
      .then([raised(command)]);
    spec
      .given([raised(command)])
      .when(command)
      .thenNothing();
  });

  it('lets only the system raise', () => {
    spec
      .given()
      .when({ ...raise(), context: { actorId: userId, actorRole: 'tenant', now } })
      .thenThrows('FORBIDDEN', 'forbidden');
  });

  it('marks read once, and only for its owner', () => {
    const command = raise();
    const read = {
      type: 'MarkNotificationRead' as const,
      data: { notificationId: command.data.notificationId, userId },
      context: { actorId: userId, actorRole: 'tenant' as const, now },
    };
    const readEvent = {
      type: 'NotificationRead' as const,
      data: { notificationId: command.data.notificationId, userId, readAt: now },
    };
    spec
      .given([raised(command)])
      .when(read)
      .then([readEvent]);
    spec
      .given([raised(command), readEvent])
      .when(read)
      .thenNothing();
    spec
      .given([raised(command)])
      .when({ ...read, context: { ...read.context, actorId: randomUUID() } })
      .thenThrows('NOTIFICATION_NOT_FOUND', 'not_found');
    spec
      .given([raised(command)])
      .when({ ...read, data: { ...read.data, notificationId: randomUUID() } })
      .thenThrows('NOTIFICATION_NOT_FOUND', 'not_found');
    spec.given().when(read).thenThrows('NOTIFICATION_NOT_FOUND', 'not_found');
  });
});

describe('preferences decider', () => {
  const spec = deciderSpec(preferencesDecider);
  const set = (kinds: Record<string, Record<string, boolean>>, actorId = userId) => ({
    type: 'SetNotificationPreferences' as const,
    data: { userId, kinds: kinds as never },
    context: { actorId, actorRole: 'tenant' as const, now },
  });

  it('starts from email and push for everything, SMS for what cannot wait', () => {
    const defaults = defaultPreferences();
    expect(defaults.booking_confirmed).toEqual({ email: true, sms: false, push: true });
    expect(defaults.booking_reminder.sms).toBe(true);
  });

  it('records what changes, nothing when nothing does, and refuses unknown kinds and other people', () => {
    const changed = {
      type: 'NotificationPreferencesSet' as const,
      data: { userId, kinds: { payment_due: { email: false, sms: false, push: true } }, setAt: now },
    };
    spec
      .given()
      .when(set({ payment_due: { email: false } }))
      .then([changed]);
    spec
      .given([changed])
      .when(set({ payment_due: { email: false } }))
      .thenNothing();
    spec
      .given()
      .when(set({ payment_due: { email: true } }))
      .thenNothing();
    spec
      .given()
      .when(set({ nonsense: { email: true } }))
      .thenThrows('UNKNOWN_KIND', 'validation');
    spec
      .given()
      .when(set({ payment_due: { fax: true } }))
      .thenThrows('UNKNOWN_CHANNEL', 'validation');
    spec
      .given()
      .when(set({ payment_due: { email: false } }, randomUUID()))
      .thenThrows('FORBIDDEN', 'forbidden');
    const state = [changed].reduce(preferencesDecider.evolve, preferencesDecider.initialState);
    expect(state.preferences.payment_due).toEqual({ email: false, sms: false, push: true });
    expect(state.preferences.payment_overdue).toEqual(defaultPreferences().payment_overdue);
  });
});

describe('templates', () => {
  const hostile = `<script>alert("x")</script> & 'quotes' — Zoë 🏠 ${'A'.repeat(10_000)}`;

  it('escapes every user value in the HTML body', () => {
    const rendered = renderNotification('booking_requested', {
      recipientName: hostile,
      otherPartyName: '<img src=x onerror=alert(1)>',
      roomTitle: '"Room" & <b>bold</b>',
      bookingReference: 'RL-ABC123',
      checkIn: '2030-01-01',
      checkOut: '2030-01-03',
      link: 'https://roomline.example/bookings/1?a=1&b="2"',
      unsubscribeUrl: 'https://roomline.example/api/notifications/unsubscribe?token=a.b.c',
    });
    expect(rendered.html).not.toContain('<script>');
    expect(rendered.html).not.toContain('<img');
    expect(rendered.html).not.toContain('<b>bold');
    expect(rendered.html).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39; — Zoë 🏠',
    );
    expect(rendered.html).toContain('href="https://roomline.example/bookings/1?a=1&amp;b=&quot;2&quot;"');
    // A huge name is cut, by characters (the emoji stays whole), in every body.
    expect(rendered.html.length).toBeLessThan(3_000);
    expect(rendered.text).toContain('Hello <script>alert("x")</script> & \'quotes\' — Zoë 🏠 AAA');
    expect(rendered.text.length).toBeLessThan(1_000);
    expect(rendered.subject).toBe('New booking request RL-ABC123');
    expect([...rendered.sms].length).toBeLessThanOrEqual(320);
  });

  it('keeps user values on one line (no header or line injection)', () => {
    expect(plain('a\r\nBcc: victim@example.org\u2028b')).toBe('a Bcc: victim@example.org b');
    const rendered = renderNotification('message_received', {
      otherPartyName: 'Eve\r\nBcc: x@example.org',
      link: 'https://roomline.example',
    });
    expect(rendered.subject).toBe('New message from Eve Bcc: x@example.org');
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('has a template for every kind', () => {
    for (const kind of Object.keys(defaultPreferences())) {
      const rendered = renderNotification(kind as never, { link: 'https://roomline.example', messageCount: 3 });
      expect(rendered.subject.length, kind).toBeGreaterThan(5);
      expect(rendered.html, kind).toContain('<html>');
    }
  });
});
