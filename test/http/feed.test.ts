import { randomUUID } from 'node:crypto';
import { Parser } from '@asyncapi/parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenSigner } from '../../infra/auth/tokens.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { publishedRoom } from '../support/flows.js';
import { connectFeed, type FeedClient, HandshakeRefused } from './feedClient.js';

let t: TestApp;
let base: string;
const open: FeedClient[] = [];

beforeAll(async () => {
  t = await createTestApp({ config: { FEED_TOKEN_CHECK_MS: '200', FEED_REPLAY_MAX_EVENTS: '100' } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  for (const client of open) client.ws.terminate();
  await t?.close();
}, 60_000);

async function feed(options: Parameters<typeof connectFeed>[1]): Promise<FeedClient> {
  const client = await connectFeed(base, options);
  open.push(client);
  return client;
}

async function refusal(options: Parameters<typeof connectFeed>[1]): Promise<{ status: number; error: string }> {
  try {
    const client = await connectFeed(base, options);
    client.close();
  } catch (error) {
    if (error instanceof HandshakeRefused) return { status: error.status, error: JSON.parse(error.body).error };
    throw error;
  }
  throw new Error('the handshake was accepted');
}

const dayFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let phone = Math.floor(1e8 + Math.random() * 8e8);
async function registered(role: 'tenant' | 'landlord'): Promise<{ id: string; token: string; refreshToken: string }> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      email: `feed-${randomUUID().slice(0, 8)}@example.org`,
      password: 'correct horse battery staple',
      phone: `+3933${phone++}`,
      role,
      fullName: role === 'tenant' ? 'Giulia Rossi' : 'Marco Bianchi',
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  const body = response.json();
  return { id: body.user.id, token: body.accessToken, refreshToken: body.refreshToken };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the handshake', () => {
  it('refuses a missing, bad or tampered token before the upgrade, with our JSON errors', async () => {
    expect(await refusal({})).toEqual({ status: 401, error: 'UNAUTHENTICATED' });
    expect(await refusal({ token: 'not.a.token' })).toEqual({ status: 401, error: 'INVALID_TOKEN' });
    expect(await refusal({ header: 'Bearer not.a.token' })).toEqual({ status: 401, error: 'INVALID_TOKEN' });
    const forged = accessTokenSigner({
      secret: 'x'.repeat(40),
      issuer: 'roomline',
      audience: 'roomline-api',
      ttlSeconds: 60,
    });
    expect(await refusal({ token: forged({ sub: randomUUID(), email: 'a@b.c', role: 'admin' }) })).toEqual({
      status: 401,
      error: 'INVALID_TOKEN',
    });
  });

  it('accepts the token as ?token= or as the Authorization header', async () => {
    const byQuery = await feed({ token: t.token('tenant') });
    const byHeader = await feed({ header: `Bearer ${t.token('landlord')}` });
    expect(byQuery.ws.readyState).toBe(byQuery.ws.OPEN);
    expect(byHeader.ws.readyState).toBe(byHeader.ws.OPEN);
    byQuery.close();
    byHeader.close();
  });

  it('answers a plain GET without an upgrade with 426 JSON', async () => {
    const response = await fetch(`${base}/ws`, { headers: bearer(t.token('tenant')) });
    expect(response.status).toBe(426);
    expect(((await response.json()) as { error: string }).error).toBe('UPGRADE_REQUIRED');
  });

  it('refuses hostile since values with 400', async () => {
    const token = t.token('tenant');
    const head = await t.runtime.eventStore.headPosition();
    for (const since of ['abc', '-1', '1e5', '0x10', ' 1', '', '99999999999999999999', '9223372036854775808']) {
      expect((await refusal({ token, since })).status, `since=${JSON.stringify(since)}`).toBe(400);
    }
    expect(await refusal({ token, since: (head + 1_000_000n).toString() })).toEqual({
      status: 400,
      error: 'SINCE_IN_FUTURE',
    });
    expect(await refusal({ token, query: `token=${token}&since=1&since=2` })).toMatchObject({ status: 400 });
    const fine = await feed({ token, since: head.toString() });
    fine.close();
  });
});

describe('an open socket', () => {
  it('is closed with 4401 when its token is revoked (logout)', async () => {
    const person = await registered('tenant');
    const client = await feed({ token: person.token });
    const logout = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: bearer(person.token),
      payload: { refreshToken: person.refreshToken },
    });
    expect(logout.statusCode).toBe(204);
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/revoked/);
  });

  it('is closed with 4401 when its token expires', async () => {
    const shortLived = accessTokenSigner({
      secret: t.runtime.config.JWT_SECRET,
      issuer: t.runtime.config.JWT_ISSUER,
      audience: t.runtime.config.JWT_AUDIENCE,
      ttlSeconds: 2,
    });
    const client = await feed({ token: shortLived({ sub: randomUUID(), email: 'short@example.org', role: 'tenant' }) });
    const started = Date.now();
    const closed = await client.closed;
    expect(closed).toEqual({ code: 4401, reason: 'the access token has expired' });
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('answers hostile client frames with feed:error and stays open; an oversized frame closes it (1009)', async () => {
    const client = await feed({ token: t.token('tenant') });
    client.send('not json {');
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    client.send({ type: 'message:ack', messageIds: 'nope' });
    client.send({ type: 'subscribe', channel: 'everyone' });
    client.send({ type: 'message:ack', messageIds: [randomUUID()] });
    client.send('null');
    client.send(`{"type":"message:ack","messageIds":["${'a'.repeat(9000)}"]}`);
    await client.until(() => client.of('feed:error').length >= 7, 5000, 'seven error frames');
    expect(client.of('feed:error').map((frame) => [frame.type, frame.data.error])).toEqual([
      ['feed:error', 'INVALID_JSON'],
      ['feed:error', 'BINARY_FRAME'],
      ['feed:error', 'INVALID_FRAME'],
      ['feed:error', 'UNKNOWN_FRAME_TYPE'],
      ['feed:error', 'UNKNOWN_MESSAGES'],
      ['feed:error', 'UNKNOWN_FRAME_TYPE'],
      ['feed:error', 'FRAME_TOO_LARGE'],
    ]);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    client.send('x'.repeat(70 * 1024));
    expect((await client.closed).code).toBe(1009);
  });
});

describe('frames', () => {
  it('booking:confirmed reaches the tenant and the landlord, and nobody else', async () => {
    const landlordId = randomUUID();
    const tenantId = randomUUID();
    const roomId = await publishedRoom(t, landlordId);
    const landlord = await feed({ token: t.token('landlord', landlordId) });
    const tenant = await feed({ token: t.token('tenant', tenantId) });
    const stranger = await feed({ token: t.token('tenant') });
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: t.as('tenant', tenantId),
      payload: { roomId, checkIn: dayFromNow(20), checkOut: dayFromNow(23), guests: 1 },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const bookingId = booked.json().id;
    const confirmed = await t.app.inject({
      method: 'PUT',
      url: `/api/bookings/${bookingId}/status`,
      headers: t.as('landlord', landlordId),
      payload: { status: 'confirmed' },
    });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    for (const client of [tenant, landlord]) {
      await client.until((frames) => frames.some((f) => f.type === 'booking:confirmed'), 10_000, 'booking:confirmed');
      const [frame] = client.of('booking:confirmed');
      expect(frame).toMatchObject({
        type: 'booking:confirmed',
        position: confirmed.json().position,
        data: { bookingId, roomId, tenantId, landlordId, checkIn: dayFromNow(20), checkOut: dayFromNow(23) },
      });
    }
    await settle(300);
    await stranger.live();
    expect(stranger.frames.map((frame) => frame.type)).toEqual(['feed:live']);
  });

  it('a reconnect with since=0 far behind gets feed:resync after the most events it may scan', async () => {
    const userId = randomUUID();
    const events = Array.from({ length: 120 }, () => ({
      eventId: randomUUID(),
      type: 'NotificationRead',
      schemaVersion: 1,
      data: { notificationId: randomUUID(), userId, readAt: new Date().toISOString() },
      metadata: {
        correlationId: randomUUID(),
        causationId: null,
        actorId: userId,
        actorRole: 'tenant',
        occurredAt: new Date().toISOString(),
        requestId: null,
      },
    }));
    await t.runtime.eventStore.append(`Notification-${randomUUID()}`, events, { expectedRevision: 'any' });
    const client = await feed({ token: t.token('tenant', userId), since: '0' });
    await client.until((frames) => frames.some((f) => f.type === 'feed:resync'), 10_000, 'feed:resync');
    const resync = client.of('feed:resync')[0]!;
    expect(resync.data.reason).toBe('too_far_behind');
    // Every frame before it is this person's, in order.
    const before = client.frames.slice(0, client.frames.indexOf(resync));
    expect(before.every((frame) => frame.type === 'notification:read')).toBe(true);
    const positions = before.map((frame) => BigInt(frame.position!));
    expect([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(positions);
    client.close();
  });
});

describe('messages, receipts and presence', () => {
  async function conversation() {
    const tenant = await registered('tenant');
    const landlord = await registered('landlord');
    const started = await t.app.inject({
      method: 'POST',
      url: '/api/conversations',
      headers: bearer(tenant.token),
      payload: { participantId: landlord.id },
    });
    expect(started.statusCode, started.body).toBe(201);
    // Presence frames go to the partners the messaging read model knows: wait until it has the conversation.
    const deadline = Date.now() + 10_000;
    while (!(await t.runtime.feed.partnersOf(tenant.id)).includes(landlord.id)) {
      if (Date.now() > deadline) throw new Error('the messaging read model never showed the conversation');
      await settle(50);
    }
    return { tenant, landlord, conversationId: started.json().id as string };
  }
  const post = (token: string, conversationId: string, body: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/conversations/${conversationId}/messages`,
      headers: bearer(token),
      payload: { body },
    });

  it('message:sent reaches the recipient masked and the sender as written; an ack gives the sender message:delivered', async () => {
    const { tenant, landlord, conversationId } = await conversation();
    const tenantFeed = await feed({ token: tenant.token });
    const landlordFeed = await feed({ token: landlord.token });
    const stranger = await feed({ token: t.token('tenant') });
    const text = 'Write me at giulia.rossi@example.org or call +39 333 123 4567';
    const sent = await post(tenant.token, conversationId, text);
    expect(sent.statusCode, sent.body).toBe(201);
    const messageId = sent.json().id;
    await landlordFeed.until((f) => f.some((x) => x.type === 'message:sent'), 10_000, 'message:sent (recipient)');
    await tenantFeed.until((f) => f.some((x) => x.type === 'message:sent'), 10_000, 'message:sent (sender)');
    const received = landlordFeed.of('message:sent')[0]!;
    expect(received).toMatchObject({
      position: sent.json().position,
      data: { conversationId, messageId, senderId: tenant.id, recipientId: landlord.id, masked: true },
    });
    expect(received.data.body).not.toContain('giulia.rossi@example.org');
    expect(received.data.body).not.toContain('123 4567');
    expect(tenantFeed.of('message:sent')[0]!.data).toMatchObject({ body: text, masked: false });

    // The sender cannot acknowledge their own message for the recipient; the recipient can.
    tenantFeed.send({ type: 'message:ack', messageIds: [messageId] });
    await tenantFeed.until((f) => f.some((x) => x.type === 'feed:error'), 5000, 'the refused ack');
    expect(tenantFeed.of('feed:error')[0]!.data.error).toBe('UNKNOWN_MESSAGES');
    landlordFeed.send({ type: 'message:ack', messageIds: [messageId] });
    await tenantFeed.until((f) => f.some((x) => x.type === 'message:delivered'), 10_000, 'message:delivered');
    expect(tenantFeed.of('message:delivered')[0]!.data).toMatchObject({
      conversationId,
      recipientId: landlord.id,
      messageIds: [messageId],
    });
    expect(landlordFeed.of('message:delivered')).toEqual([]);
    await settle(300);
    await stranger.live();
    expect(stranger.frames.map((frame) => frame.type)).toEqual(['feed:live']);
  });

  it('once the pair has a confirmed booking, the recipient’s message:sent shows the contact details as written', async () => {
    const { tenant, landlord, conversationId } = await conversation();
    const roomId = await publishedRoom(t, landlord.id);
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: bearer(tenant.token),
      payload: { roomId, checkIn: dayFromNow(30), checkOut: dayFromNow(32), guests: 1 },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const confirmed = await t.app.inject({
      method: 'PUT',
      url: `/api/bookings/${booked.json().id}/status`,
      headers: bearer(landlord.token),
      payload: { status: 'confirmed' },
    });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const listed = await t.app.inject({ method: 'GET', url: '/api/conversations', headers: bearer(tenant.token) });
      const mine = (listed.json().items as Array<{ id: string; contactUnlocked: boolean }>).find(
        (c) => c.id === conversationId,
      );
      if (mine?.contactUnlocked) break;
      if (Date.now() > deadline) throw new Error('the conversation never showed contact details unlocked');
      await settle(50);
    }
    const landlordFeed = await feed({ token: landlord.token });
    const text = 'Write me at giulia.rossi@example.org or call +39 333 123 4567';
    const sent = await post(tenant.token, conversationId, text);
    expect(sent.statusCode, sent.body).toBe(201);
    await landlordFeed.until((f) => f.some((x) => x.type === 'message:sent'), 10_000, 'message:sent');
    expect(landlordFeed.of('message:sent')[0]!.data).toMatchObject({ body: text, masked: false });
  });

  it('a message sent the moment the socket opens reaches it, though this process is still subscribing to the bus', async () => {
    const { tenant, landlord, conversationId } = await conversation();
    // The bus takes its time to subscribe (as a busy Redis does): a socket without since must still get every event
    // after its handshake. It used to start from the head read once subscribed, and lost what was published before.
    const subscriber = t.runtime.feed.subscriber;
    const listen = subscriber.listen.bind(subscriber);
    subscriber.listen = async (...args) => {
      await settle(700);
      return listen(...args);
    };
    let landlordFeed: FeedClient;
    try {
      landlordFeed = await feed({ token: landlord.token });
    } finally {
      subscriber.listen = listen;
    }
    const sent = await post(tenant.token, conversationId, 'Is the room still free in June?');
    expect(sent.statusCode, sent.body).toBe(201);
    await landlordFeed.until((f) => f.some((x) => x.type === 'message:sent'), 10_000, 'message:sent');
    await settle(300);
    expect(landlordFeed.of('message:sent').map((frame) => frame.data.messageId)).toEqual([sent.json().id]);
  });

  it('says feed:live once: after every replayed frame with since, at once without; live frames follow it', async () => {
    const { tenant, landlord, conversationId } = await conversation();
    // Settled before the handshake: other sockets' receipts may append while this one opens, so the head read after
    // feed:live may already be past it (CI saw that); what the socket owes is everything settled when it connected.
    const settledBefore = await t.runtime.eventStore.settledPosition();
    const fresh = await feed({ token: landlord.token });
    const head = BigInt(await fresh.live());
    expect(head).toBeGreaterThanOrEqual(settledBefore);
    expect(fresh.frames.map((frame) => frame.type)).toEqual(['feed:live']);
    const missed = [];
    for (const body of ['first', 'second', 'third']) {
      const sent = await post(tenant.token, conversationId, body);
      expect(sent.statusCode, sent.body).toBe(201);
      missed.push(sent.json() as { id: string; position: string });
    }
    const replaying = await feed({ token: landlord.token, since: head.toString() });
    const position = await replaying.live();
    const types = replaying.frames.map((frame) => frame.type);
    expect(types.slice(0, 4)).toEqual(['message:sent', 'message:sent', 'message:sent', 'feed:live']);
    expect(replaying.of('message:sent').map((frame) => frame.data.messageId)).toEqual(missed.map((m) => m.id));
    expect(BigInt(position)).toBeGreaterThanOrEqual(BigInt(missed.at(-1)!.position));
    const later = await post(tenant.token, conversationId, 'live now');
    await replaying.until((f) => f.filter((x) => x.type === 'message:sent').length === 4, 10_000, 'the live message');
    expect(replaying.frames.at(-1)).toMatchObject({ type: 'message:sent', data: { messageId: later.json().id } });
    expect(replaying.of('feed:live')).toHaveLength(1);
    await fresh.until((f) => f.some((x) => x.type === 'message:sent' && x.data.messageId === later.json().id));
    expect(fresh.of('feed:live')).toHaveLength(1);
  });

  it('user:online and user:offline reach only people who share a conversation; presence is in Redis', async () => {
    const { tenant, landlord } = await conversation();
    const stranger = await feed({ token: t.token('tenant') });
    const landlordFeed = await feed({ token: landlord.token });
    expect(await t.runtime.presence.isOnline(tenant.id)).toBe(false);
    const tenantFeed = await feed({ token: tenant.token });
    await landlordFeed.until((f) => f.some((x) => x.type === 'user:online'), 5000, 'user:online');
    expect(landlordFeed.of('user:online')[0]).toMatchObject({ data: { userId: tenant.id } });
    expect(landlordFeed.of('user:online')[0]!.position).toBeUndefined();
    expect(await t.runtime.presence.isOnline(tenant.id)).toBe(true);
    tenantFeed.close();
    await landlordFeed.until((f) => f.some((x) => x.type === 'user:offline'), 5000, 'user:offline');
    expect(await t.runtime.presence.isOnline(tenant.id)).toBe(false);
    await stranger.live();
    expect(stranger.frames.map((frame) => frame.type)).toEqual(['feed:live']);
  });
});

describe('the AsyncAPI document', () => {
  it('is served at /docs/asyncapi.json, is valid AsyncAPI 3.0 and names every frame type', async () => {
    const response = await fetch(`${base}/docs/asyncapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { asyncapi: string; components: { messages: object } };
    expect(document.asyncapi).toBe('3.0.0');
    const { document: parsed, diagnostics } = await new Parser().parse(document);
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(parsed).toBeDefined();
    const names = Object.values(document.components.messages as Record<string, { name: string }>).map((m) => m.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'message:sent',
        'message:delivered',
        'message:read',
        'booking:confirmed',
        'booking:reminder',
        'notification:new',
        'notification:read',
        'user:online',
        'user:offline',
        'feed:live',
        'message:ack',
      ]),
    );
  });
});
