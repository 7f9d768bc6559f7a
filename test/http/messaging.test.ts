import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markRead, recordDelivery, sendMessage } from '../../commands/messaging.js';
import { conversationId } from '../../domain/messaging/conversationId.js';
import { MASK } from '../../domain/messaging/masking.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { type Person, publishedRoom, registeredPerson } from '../support/flows.js';
import { multipartBody } from '../support/multipart.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ config: { MESSAGE_RATE_LIMIT_PER_MINUTE: '12' } });
});
afterAll(async () => {
  await t?.close();
});

const register = (role: 'tenant' | 'landlord') => registeredPerson(t, role);

const dayFromNow = (days: number) =>
  new Date(t.runtime.clock.now().getTime() + days * 86_400_000).toISOString().slice(0, 10);

async function start(from: Person, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/api/conversations', headers: from.headers, payload });
}

async function conversationOf(tenant: Person, landlord: Person, roomId?: string): Promise<string> {
  const response = await start(tenant, { participantId: landlord.id, ...(roomId ? { roomId } : {}) });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id;
}

async function send(from: Person, id: string, body: string, extra: Record<string, unknown> = {}) {
  return t.app.inject({
    method: 'POST',
    url: `/api/conversations/${id}/messages`,
    headers: from.headers,
    payload: { body, ...extra },
  });
}

async function sent(from: Person, id: string, body: string): Promise<{ id: string; position: string }> {
  const response = await send(from, id, body);
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

async function messages(viewer: Person, id: string, position?: string, query = '') {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/conversations/${id}/messages${query}`,
    headers: { ...viewer.headers, ...(position ? { 'x-min-position': position } : {}) },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as { items: Array<Record<string, unknown>>; nextCursor: string | null };
}

async function conversations(viewer: Person, position?: string) {
  const response = await t.app.inject({
    method: 'GET',
    url: '/api/conversations',
    headers: { ...viewer.headers, ...(position ? { 'x-min-position': position } : {}) },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().items as Array<Record<string, unknown>>;
}

async function headPosition(): Promise<string> {
  return (await t.runtime.eventStore.headPosition()).toString();
}

let tenant: Person;
let landlord: Person;
let roomId: string;
beforeAll(async () => {
  [tenant, landlord] = await Promise.all([register('tenant'), register('landlord')]);
  roomId = await publishedRoom(t, landlord.id);
});

describe('POST /api/conversations', () => {
  it('gives the same id for the same pair and room, whoever starts it, and appends nothing the second time', async () => {
    const first = await start(tenant, { participantId: landlord.id, roomId });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json().position).not.toBeNull();
    const again = await start(tenant, { participantId: landlord.id, roomId });
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual({ id: first.json().id, position: null });
    const fromLandlord = await start(landlord, { participantId: tenant.id, roomId });
    expect(fromLandlord.json().id).toBe(first.json().id);
    expect(first.json().id).toBe(conversationId(tenant.id, landlord.id, roomId));
    // Another room, or none, is another conversation.
    const general = await start(tenant, { participantId: landlord.id });
    expect(general.statusCode).toBe(201);
    expect(general.json().id).not.toBe(first.json().id);
  });

  it('refuses other roles (403), oneself, strangers, same-role pairs and rooms of other landlords', async () => {
    for (const role of ['official', 'admin', 'auditor', 'support', 'analyst'] as const) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/conversations',
        headers: t.as(role),
        payload: { participantId: landlord.id },
      });
      expect(response.statusCode, role).toBe(403);
    }
    expect((await start(tenant, { participantId: tenant.id })).json().error).toBe('CANNOT_MESSAGE_SELF');
    expect((await start(tenant, { participantId: randomUUID() })).statusCode).toBe(404);
    const otherTenant = await register('tenant');
    const sameRole = await start(tenant, { participantId: otherTenant.id });
    expect(sameRole.statusCode).toBe(422);
    expect(sameRole.json().error).toBe('PAIR_NOT_ALLOWED');
    const otherLandlord = await register('landlord');
    const wrongRoom = await start(tenant, { participantId: otherLandlord.id, roomId });
    expect(wrongRoom.statusCode).toBe(422);
    expect(wrongRoom.json().error).toBe('ROOM_NOT_OF_LANDLORD');
    expect((await start(tenant, { participantId: landlord.id, roomId: randomUUID() })).statusCode).toBe(404);
    expect((await start(tenant, { participantId: landlord.id, bookingId: randomUUID() })).statusCode).toBe(404);
    expect((await start(tenant, { participantId: 'not-a-uuid' })).statusCode).toBe(400);
    expect((await start(tenant, { participantId: landlord.id, extra: 1 })).statusCode).toBe(400);
  });
});

describe('messages', () => {
  it('keeps bodies between 1 and 4,000 characters: 0, blank, 4,001 and NUL are 400; 4,000 and astral Unicode pass', async () => {
    const [a, b] = await Promise.all([register('tenant'), register('landlord')]);
    const id = await conversationOf(a, b);
    for (const body of ['', '   \n\t ', 'x'.repeat(4001), 'nul\u0000inside']) {
      const response = await send(a, id, body);
      expect(response.statusCode, JSON.stringify(body.slice(0, 20))).toBe(400);
      expect(response.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    }
    expect((await send(a, id, 'x'.repeat(4000))).statusCode).toBe(201);
    // 4,000 characters of four bytes each (8,000 UTF-16 units) are 4,000 characters.
    const astral = '😀'.repeat(4000);
    const emoji = await send(a, id, astral);
    expect(emoji.statusCode, emoji.body).toBe(201);
    // A lone surrogate is refused at the door for every route (400, as NUL is), before the domain's own check.
    const lone = await send(a, id, '\uD800 lone surrogate');
    expect(lone.statusCode, lone.body).toBe(400);
    expect(lone.json().error).toBe('VALIDATION_FAILED');
    // Decomposed é (e + U+0301) is stored composed (NFC), trimmed.
    const composed = await sent(a, id, '  Cafe\u0301 near the campus?  ');
    const shown = await messages(a, id, composed.position);
    expect(shown.items[0]!.body).toBe('Caf\u00e9 near the campus?');
    expect(shown.items[1]!.body).toBe(astral);
    expect((await send(a, id, 'hello', { photoIds: [randomUUID()] })).json().error).toBe('PHOTO_NOT_FOUND');
    expect((await send(a, id, 'hello', { extra: true })).statusCode).toBe(400);
  });

  it('answers 404 to everyone but the two participants on every conversation route', async () => {
    const id = await conversationOf(tenant, landlord);
    const message = await sent(tenant, id, 'Is the room still free in June?');
    const stranger = await register('tenant');
    const position = message.position;
    const routes = [
      { method: 'GET' as const, url: `/api/conversations/${id}/messages` },
      { method: 'POST' as const, url: `/api/conversations/${id}/messages`, payload: { body: 'hi' } },
      { method: 'POST' as const, url: `/api/conversations/${id}/read`, payload: { upToMessageId: message.id } },
    ];
    for (const headers of [stranger.headers, t.as('admin'), t.as('landlord'), t.as('official')]) {
      for (const route of routes) {
        const response = await t.app.inject({ ...route, headers: { ...headers, 'x-min-position': position } });
        expect(response.statusCode, `${route.method} ${route.url}`).toBe(404);
      }
      const list = await t.app.inject({ method: 'GET', url: '/api/conversations', headers });
      expect(list.json().items.map((c: { id: string }) => c.id)).not.toContain(id);
    }
    // A conversation that does not exist looks the same.
    const nowhere = randomUUID();
    expect((await send(tenant, nowhere, 'hello')).statusCode).toBe(404);
    const none = await t.app.inject({
      method: 'GET',
      url: `/api/conversations/${nowhere}/messages`,
      headers: tenant.headers,
    });
    expect(none.statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/conversations' })).statusCode).toBe(401);
  });

  it('lists newest first with cursor pages, counts unread messages down after /read, and shows read receipts forward only', async () => {
    const [a, b] = await Promise.all([register('tenant'), register('landlord')]);
    const id = await conversationOf(a, b);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await sent(a, id, `message ${i}`)).id);
    const last = await sent(b, id, 'a reply');
    const page1 = await messages(b, id, last.position, '?limit=4');
    expect(page1.items.map((m) => m.id)).toEqual([last.id, ids[4], ids[3], ids[2]]);
    const page2 = await messages(b, id, undefined, `?limit=4&cursor=${page1.nextCursor}`);
    expect(page2.items.map((m) => m.id)).toEqual([ids[1], ids[0]]);
    expect(page2.nextCursor).toBeNull();
    const forged = await t.app.inject({
      method: 'GET',
      url: `/api/conversations/${id}/messages?cursor=${page1.nextCursor}x`,
      headers: b.headers,
    });
    expect(forged.statusCode).toBe(400);

    const unread = async (who: Person, position?: string) =>
      (await conversations(who, position)).find((c) => c.id === id) as Record<string, unknown>;
    const before = await unread(b, last.position);
    expect(before).toMatchObject({ unreadCount: 5, participantId: a.id });
    expect((before.lastMessage as { id: string }).id).toBe(last.id);
    expect((await unread(a)).unreadCount).toBe(1);

    const read = await t.app.inject({
      method: 'POST',
      url: `/api/conversations/${id}/read`,
      headers: b.headers,
      payload: { upToMessageId: ids[2] },
    });
    expect(read.statusCode, read.body).toBe(204);
    const readPosition = read.headers['x-position'] as string;
    expect(readPosition).toMatch(/^\d+$/);
    expect((await unread(b, readPosition)).unreadCount).toBe(2);
    const seen = await messages(a, id, readPosition);
    const byId = new Map(seen.items.map((m) => [m.id, m]));
    for (const read of ids.slice(0, 3)) {
      expect(byId.get(read)!.readAt, read).toEqual(expect.any(String));
      // Read implies received.
      expect(byId.get(read)!.deliveredAt).toEqual(expect.any(String));
    }
    for (const notYet of ids.slice(3)) expect(byId.get(notYet)).not.toHaveProperty('readAt');

    // Backwards changes nothing; a message of another conversation is refused.
    const back = await t.app.inject({
      method: 'POST',
      url: `/api/conversations/${id}/read`,
      headers: b.headers,
      payload: { upToMessageId: ids[0] },
    });
    expect(back.statusCode).toBe(204);
    expect(back.headers['x-position']).toBeUndefined();
    const foreign = await t.app.inject({
      method: 'POST',
      url: `/api/conversations/${id}/read`,
      headers: b.headers,
      payload: { upToMessageId: randomUUID() },
    });
    expect(foreign.statusCode).toBe(422);
    const all = await t.app.inject({
      method: 'POST',
      url: `/api/conversations/${id}/read`,
      headers: b.headers,
      payload: { upToMessageId: last.id },
    });
    expect((await unread(b, all.headers['x-position'] as string)).unreadCount).toBe(0);
  });

  it('records delivery through recordDelivery (as the feed does): deliveredAt shows, a repeat appends nothing', async () => {
    const [a, b] = await Promise.all([register('tenant'), register('landlord')]);
    const id = await conversationOf(a, b);
    const one = await sent(a, id, 'first');
    const two = await sent(a, id, 'second');
    const mine = await sent(b, id, 'from the recipient');
    const now = t.runtime.clock.now().toISOString();
    const envelope = {
      now,
      newId: randomUUID,
      metadata: {
        correlationId: randomUUID(),
        causationId: null,
        actorId: 'system',
        actorRole: 'system',
        requestId: 'feed',
      },
    };
    const deps = { store: t.runtime.eventStore };
    const input = { conversationId: id, recipientId: b.id, messageIds: [one.id, two.id, mine.id, randomUUID()] };
    const result = await recordDelivery(deps, input, { actorId: 'system', actorRole: 'system', now }, envelope);
    expect(result.events).toHaveLength(1);
    expect(result.events[0]).toMatchObject({
      type: 'MessagesDelivered',
      data: { recipientId: b.id, senderId: a.id, messageIds: [one.id, two.id] },
    });
    const again = await recordDelivery(deps, input, { actorId: 'system', actorRole: 'system', now }, envelope);
    expect(again.position).toBeNull();
    const shown = await messages(a, id, result.position!.toString());
    const byId = new Map(shown.items.map((m) => [m.id, m]));
    expect(byId.get(one.id)!.deliveredAt).toBe(now);
    expect(byId.get(two.id)!.deliveredAt).toBe(now);
    expect(byId.get(mine.id)).not.toHaveProperty('deliveredAt');
  });

  it('limits messages per person and minute: 429 RATE_LIMITED with Retry-After', async () => {
    const [a, b] = await Promise.all([register('tenant'), register('landlord')]);
    const id = await conversationOf(a, b);
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof send>> | undefined;
    // 12 a minute. A minute may turn over mid-burst (the counter starts again), but 25 sends cannot all fit in the
    // two windows they span without 13 of them landing in one.
    for (let i = 0; i < 25 && !limited; i++) {
      const response = await send(a, id, `burst ${i}`);
      statuses.push(response.statusCode);
      if (response.statusCode === 429) limited = response;
    }
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(12);
    expect(limited, statuses.join(',')).toBeDefined();
    expect(limited!.json().error).toBe('RATE_LIMITED');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited!.headers['retry-after'])).toBeLessThanOrEqual(60);
    // The other person is counted on their own.
    expect((await send(b, id, 'I can still answer')).statusCode).toBe(201);
  });
});

describe('long conversations', () => {
  it('delivers and reads messages far back (beyond one page of the stream’s tail), forward only', async () => {
    const [a, b] = await Promise.all([register('tenant'), register('landlord')]);
    const id = await conversationOf(a, b);
    const deps = { store: t.runtime.eventStore };
    const envelopeOf = (actorId: string, now: string) => ({
      now,
      newId: randomUUID,
      metadata: { correlationId: randomUUID(), causationId: null, actorId, actorRole: 'tenant', requestId: 'test' },
    });
    const ids: string[] = [];
    for (let i = 0; i < 75; i++) {
      const now = t.runtime.clock.now().toISOString();
      const from = i === 40 ? b : a;
      const result = await sendMessage(
        deps,
        { conversationId: id, messageId: randomUUID(), body: `message ${i}` },
        { actorId: from.id, actorRole: from === a ? 'tenant' : 'landlord', now },
        envelopeOf(from.id, now),
      );
      ids.push(result.message.messageId);
    }
    const now = t.runtime.clock.now().toISOString();
    const system = { actorId: 'system', actorRole: 'system' as const, now };
    const delivered = await recordDelivery(
      deps,
      { conversationId: id, recipientId: b.id, messageIds: [ids[70]!, ids[1]!, ids[40]!] },
      system,
      envelopeOf('system', now),
    );
    // The landlord's own message 40 is not theirs to receive.
    expect(delivered.events[0]!.data).toMatchObject({ messageIds: [ids[1], ids[70]] });
    const again = await recordDelivery(
      deps,
      { conversationId: id, recipientId: b.id, messageIds: [ids[1]!] },
      system,
      envelopeOf('system', now),
    );
    expect(again.position).toBeNull();

    const reader = { actorId: b.id, actorRole: 'landlord' as const, now };
    // Named by the reader's own message: the last one to them before it.
    const read = await markRead(deps, { conversationId: id, upToMessageId: ids[40]! }, reader, envelopeOf(b.id, now));
    expect(read.events[0]!.data).toMatchObject({ upToMessageId: ids[39] });
    const back = await markRead(deps, { conversationId: id, upToMessageId: ids[2]! }, reader, envelopeOf(b.id, now));
    expect(back.position).toBeNull();
    const listed = (await conversations(b, read.position!.toString())).find((c) => c.id === id)!;
    expect(listed.unreadCount).toBe(74 - 40);
    const shown = await messages(a, id, read.position!.toString(), '?limit=100');
    expect(shown.items).toHaveLength(76 - 1);
    const byId = new Map(shown.items.map((m) => [m.id, m]));
    expect(byId.get(ids[1]!)!.deliveredAt).toBe(now);
    expect(byId.get(ids[39]!)!.readAt).toBe(now);
    expect(byId.get(ids[41]!)).not.toHaveProperty('readAt');
  });

  it('answers a send retried with the same Idempotency-Key with the same message', async () => {
    const [a, b] = await Promise.all([register('tenant'), register('landlord')]);
    const id = await conversationOf(a, b);
    const key = randomUUID();
    const first = await t.app.inject({
      method: 'POST',
      url: `/api/conversations/${id}/messages`,
      headers: { ...a.headers, 'idempotency-key': key },
      payload: { body: 'only once' },
    });
    expect(first.statusCode, first.body).toBe(201);
    const retried = await t.app.inject({
      method: 'POST',
      url: `/api/conversations/${id}/messages`,
      headers: { ...a.headers, 'idempotency-key': key },
      payload: { body: 'only once' },
    });
    expect(retried.json()).toEqual(first.json());
    expect((await messages(b, id, first.json().position)).items).toHaveLength(1);
  });
});

describe('contact details', () => {
  const withContacts = 'Mail me at anna.rossi@example.org or call +39 051 123 4567, see www.my-flat.it';

  it('are masked for the recipient until the pair has a confirmed booking, then shown; the sender always sees them', async () => {
    const [a, b] = await Promise.all([register('tenant'), register('landlord')]);
    const room = await publishedRoom(t, b.id);
    const id = await conversationOf(a, b, room);
    const message = await sent(a, id, withContacts);
    const toLandlord = await messages(b, id, message.position);
    expect(toLandlord.items[0]).toMatchObject({ masked: true });
    const masked = toLandlord.items[0]!.body as string;
    expect(masked).toContain(MASK);
    for (const hidden of ['anna.rossi@example.org', '051 123 4567', 'www.my-flat.it'])
      expect(masked).not.toContain(hidden);
    expect(masked.startsWith('Mail me at ')).toBe(true);
    expect((await messages(a, id)).items[0]).toMatchObject({ body: withContacts, masked: false });
    const listed = (await conversations(b)).find((c) => c.id === id)!;
    expect((listed.lastMessage as { body: string }).body).toBe(masked);
    expect(listed.contactUnlocked).toBe(false);

    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: t.as('tenant', a.id),
      payload: { roomId: room, checkIn: dayFromNow(10), checkOut: dayFromNow(12), guests: 1 },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    // A pending booking unmasks nothing.
    expect((await messages(b, id, booked.json().position)).items[0]).toMatchObject({ masked: true });
    const confirmed = await t.app.inject({
      method: 'PUT',
      url: `/api/bookings/${booked.json().id}/status`,
      headers: t.as('landlord', b.id),
      payload: { status: 'confirmed' },
    });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    const after = await messages(b, id, await headPosition());
    expect(after.items[0]).toMatchObject({ body: withContacts, masked: false });
    expect((await conversations(b)).find((c) => c.id === id)!.contactUnlocked).toBe(true);

    // A conversation the pair starts after the confirmation starts unmasked (here: about no room in particular).
    const later = await conversationOf(b, a);
    const laterMessage = await sent(b, later, 'Call me: 0612345678');
    expect((await messages(a, later, laterMessage.position)).items[0]).toMatchObject({
      body: 'Call me: 0612345678',
      masked: false,
    });
  });
});

/** A JPEG with camera and GPS tags, as a phone writes it. */
async function phoneJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 120, height: 80, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .withExif({
      IFD0: { Make: 'Roomline Test Phone', Model: 'RT-1' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '44/1 29/1 4164/100' },
    })
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe('message photos', () => {
  const upload = (who: Person, files: Array<{ content: Buffer; contentType?: string }>) => {
    const body = multipartBody(
      files.map((file, i) => ({
        filename: `p${i}.jpg`,
        contentType: file.contentType ?? 'image/jpeg',
        content: file.content,
      })),
    );
    return t.app.inject({
      method: 'POST',
      url: '/api/messages/upload-photo',
      headers: { ...who.headers, ...body.headers },
      payload: body.payload,
    });
  };

  it('strips EXIF, attaches only the uploader’s photos, and shows them to the uploader and the participants only', async () => {
    const [a, b, stranger] = await Promise.all([register('tenant'), register('landlord'), register('tenant')]);
    const id = await conversationOf(a, b);
    const sentPhoto = await phoneJpeg();
    expect((await sharp(sentPhoto).metadata()).exif?.toString('latin1')).toContain('Roomline Test Phone');
    const uploaded = await upload(a, [{ content: sentPhoto }]);
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const { photoId, url, position } = uploaded.json();
    expect(url).toBe(`/api/messages/photos/${photoId}`);
    const own = await t.app.inject({ method: 'GET', url, headers: { ...a.headers, 'x-min-position': position } });
    expect(own.statusCode).toBe(200);
    expect(own.headers['content-type']).toBe('image/jpeg');
    const metadata = await sharp(own.rawPayload).metadata();
    expect(metadata.exif).toBeUndefined();
    expect(own.rawPayload.toString('latin1')).not.toContain('Roomline Test Phone');
    // Not attached yet: the other person does not see it.
    expect((await t.app.inject({ method: 'GET', url, headers: b.headers })).statusCode).toBe(404);
    // Someone else cannot attach it.
    expect((await send(b, id, 'look', { photoIds: [photoId] })).json().error).toBe('PHOTO_NOT_FOUND');

    const message = await send(a, id, 'The view from the window', { photoIds: [photoId] });
    expect(message.statusCode, message.body).toBe(201);
    const shown = await messages(b, id, message.json().position);
    expect(shown.items[0]!.photos).toEqual([{ id: photoId, url, thumbnailUrl: `${url}/thumbnail` }]);
    expect((await t.app.inject({ method: 'GET', url, headers: b.headers })).statusCode).toBe(200);
    const thumbnail = await t.app.inject({ method: 'GET', url: `${url}/thumbnail`, headers: b.headers });
    expect(thumbnail.statusCode).toBe(200);
    expect(thumbnail.headers['content-type']).toBe('image/webp');
    for (const headers of [stranger.headers, t.as('admin')]) {
      expect((await t.app.inject({ method: 'GET', url, headers })).statusCode).toBe(404);
    }
    expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(401);
  });

  it('refuses what is not a JPEG or PNG (415), more than one file (413), JSON (415) and nothing (400)', async () => {
    const a = await register('tenant');
    expect(
      (await upload(a, [{ content: Buffer.from('GIF89a not really'), contentType: 'image/gif' }])).statusCode,
    ).toBe(415);
    const photo = await phoneJpeg();
    expect((await upload(a, [{ content: photo }, { content: photo }])).statusCode).toBe(413);
    const json = await t.app.inject({
      method: 'POST',
      url: '/api/messages/upload-photo',
      headers: a.headers,
      payload: {},
    });
    expect(json.statusCode).toBe(415);
    const empty = multipartBody([], { note: 'no file' });
    const none = await t.app.inject({
      method: 'POST',
      url: '/api/messages/upload-photo',
      headers: { ...a.headers, ...empty.headers },
      payload: empty.payload,
    });
    expect(none.statusCode).toBe(400);
  });
});

describe('erasure', () => {
  it('leaves an erased sender’s messages with body null and erased: true, and no plaintext in the store', async () => {
    const [a, b] = await Promise.all([register('tenant'), register('landlord')]);
    const id = await conversationOf(a, b);
    // Letters only: eight random hex characters are all digits one time in 43, a phone number to the masking.
    const secret = `My flat is at Via Zamboni ${randomUUID()
      .slice(0, 8)
      .replace(/\d/g, (digit) => 'ghijklmnop'[Number(digit)]!)}`;
    await sent(a, id, secret);
    const reply = await sent(b, id, 'Thanks, noted');
    const { rows: stored } = await t.runtime.pool.query(
      "SELECT count(*)::int AS n FROM event_store.events WHERE type = 'MessageSent' AND data::text ILIKE $1",
      [`%${secret}%`],
    );
    expect(stored[0].n, 'the body in clear in the event store').toBe(0);
    expect((await messages(b, id, reply.position)).items[1]).toMatchObject({ body: secret });

    const erased = await t.app.inject({
      method: 'DELETE',
      url: `/api/admin/users/${a.id}/personal-data`,
      headers: t.as('admin'),
    });
    expect(erased.statusCode).toBe(202);
    const after = await messages(b, id, await headPosition());
    expect(after.items[1]).toMatchObject({ senderId: a.id, body: null, erased: true });
    expect(after.items[0]).toMatchObject({ body: 'Thanks, noted', erased: false });
    const { rows } = await t.runtime.pool.query('SELECT count(*)::int AS n FROM messages WHERE body ILIKE $1', [
      `%${secret}%`,
    ]);
    expect(rows[0].n, 'the body in the read model').toBe(0);
  });
});
