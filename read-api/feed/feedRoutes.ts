import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import type { WebSocket } from 'ws';
import { recordDelivery } from '../../commands/messaging.js';
import { withTimeout } from '../../domain/shared/timeout.js';
import type { DenyList } from '../../infra/auth/ports.js';
import { type AccessClaims, accessTokenVerifier, InvalidToken, type TokenSettings } from '../../infra/auth/tokens.js';
import type { Clock } from '../../infra/clock/clock.js';
import type { EventStore } from '../../infra/eventStore/eventStore.js';
import type { FeedPublisher, FeedSubscriber } from '../../infra/feed/ports.js';
import type { Presence } from '../../infra/presence/presence.js';
import type { FactsOf } from '../../projections/feed/feedFacts.js';
import { ClientFrames, type Frame } from '../../projections/feed/frames.js';
import { ApiError } from '../errors.js';
import { asyncApiDocument } from './asyncApi.js';
import { CloseCodes, FeedSession } from './feedSession.js';

/** What the feed needs besides the store: the bus, presence, and the lookups its frames depend on. */
export interface FeedServices {
  subscriber: FeedSubscriber;
  publisher: FeedPublisher;
  presence: Presence;
  factsOf: FactsOf;
  /** People who share a conversation with this person: presence frames go to them only. */
  partnersOf(userId: string): Promise<string[]>;
}

export interface FeedRouteDeps {
  config: {
    JWT_SECRET: string;
    JWT_ISSUER: string;
    JWT_AUDIENCE: string;
    ACCESS_TOKEN_TTL_SECONDS: number;
    COMMAND_MAX_RETRIES: number;
    FEED_REPLAY_MAX_EVENTS: number;
    FEED_TOKEN_CHECK_MS: number;
  };
  clock: Clock;
  logger: Logger;
  eventStore: EventStore;
  identity: { denyList: DenyList };
  feed: FeedServices;
}

const MAX_POSITION = 9223372036854775807n;
/** A client frame larger than this is refused with feed:error; far larger ones are cut by ws (1009). */
const MAX_CLIENT_FRAME_BYTES = 8 * 1024;
const MAX_CLIENT_FRAMES_PER_10S = 200;
const ACK_FLUSH_MS = 20;
const LISTEN_TIMEOUT_MS = 5000;

const FeedQuery = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 8192, description: 'the access token (or Authorization: Bearer)' })),
  since: Type.Optional(Type.String({ maxLength: 64, description: 'replay every frame after this position first' })),
});

interface Admitted {
  claims: AccessClaims;
  since: bigint | null;
  /** Where the socket's frames start: `since`, or the store's settled position when the handshake was answered. */
  from: bigint;
}

function refuse(status: number, error: string, message: string): never {
  throw new ApiError(status, error, message);
}

/**
 * `GET /ws`: the real-time feed (API.md "WebSocket feed"; its AsyncAPI document at `GET /docs/asyncapi.json`).
 * The handshake is checked like a request (token, revocation, `since`) and refused with our JSON errors before the
 * upgrade; an open socket is closed (4401) when its token expires or is revoked.
 */
export const feedRoutes: FastifyPluginAsyncTypebox<FeedRouteDeps> = async (app, deps) => {
  const { config, feed, logger } = deps;
  const settings: TokenSettings = {
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
  };
  const verify = accessTokenVerifier(settings);
  const sessions = new Set<{ session: FeedSession; claims: AccessClaims }>();
  const admitted = new WeakMap<FastifyRequest, Admitted>();
  const sockets = new Set<WebSocket>();
  let shuttingDown = false;

  const stopResumed = feed.subscriber.onResumed(() => {
    // The bus lost messages while it was away: every socket catches up from where it stands.
    for (const { session } of sessions) {
      if (session.isClosed) continue;
      session.pause();
      session.catchUp(session.position).catch((error) => {
        logger.warn({ err: (error as Error).message }, 'feed catch-up after a bus interruption failed');
        session.close(CloseCodes.tryAgainLater, 'the feed was interrupted: reconnect with since');
      });
    }
  });

  const presenceTo = async (userId: string, type: 'user:online' | 'user:offline') => {
    const partners = await feed.partnersOf(userId);
    if (partners.length === 0) return;
    const frame = JSON.stringify({ type, data: { userId, at: deps.clock.now().toISOString() } } satisfies Frame);
    await feed.publisher.publish(
      partners.map((partner) => ({ userId: partner, message: { position: null, frames: [frame] } })),
    );
  };

  // Revocation (logout, role change, erasure) reaches every process through the deny list: checked in one sweep.
  // One round trip per thousand sockets, not one per socket.
  const sweep = setInterval(() => {
    const open = [...sessions].filter((entry) => !entry.session.isClosed);
    if (open.length === 0) return;
    deps.identity.denyList
      .deniedAmong(open.map((entry) => entry.claims))
      .then((denied) => {
        open.forEach((entry, i) => {
          if (denied[i]) entry.session.close(CloseCodes.tokenEnded, 'the access token was revoked');
        });
      })
      .catch(() => undefined);
  }, config.FEED_TOKEN_CHECK_MS);
  sweep.unref();

  await app.register(websocket, {
    options: { maxPayload: 64 * 1024, perMessageDeflate: false, clientTracking: false },
    // A client's protocol error (an oversized frame: ws has sent 1009) is the client's business, not an error of ours.
    errorHandler: (error, socket) => {
      logger.debug({ err: error.message }, 'feed socket error');
      socket.terminate();
    },
    preClose: async () => {
      shuttingDown = true;
      clearInterval(sweep);
      stopResumed();
      for (const { session } of [...sessions]) session.close(CloseCodes.shuttingDown, 'the server is shutting down');
      for (const socket of sockets) if (socket.readyState === socket.OPEN) socket.close(CloseCodes.shuttingDown);
      // A client that does not answer the close handshake would hold the server's close for ws's 30 s.
      const deadline = Date.now() + 1000;
      while ([...sockets].some((socket) => socket.readyState !== socket.CLOSED) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const socket of sockets) socket.terminate();
    },
  });

  app.get('/docs/asyncapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () =>
    asyncApiDocument(),
  );

  app.route({
    method: 'GET',
    url: '/ws',
    schema: { hide: true, querystring: FeedQuery },
    config: { access: 'public' },
    // A refused handshake answered with HTTP (our JSON error) ends its connection: it was asking for an upgrade, so
    // it is no keep-alive connection the server would ever close (an auth hook's refusal skips @fastify/websocket's).
    onResponse: async (request) => {
      if (request.headers.upgrade) request.raw.socket?.destroy();
    },
    preHandler: async (request) => {
      if (shuttingDown) refuse(503, 'SHUTTING_DOWN', 'the server is shutting down; connect again');
      const { query } = request;
      let claims = request.user;
      if (!claims && query.token !== undefined) {
        try {
          claims = verify(query.token);
        } catch (error) {
          if (error instanceof InvalidToken) refuse(401, 'INVALID_TOKEN', error.message);
          throw error;
        }
        if (await deps.identity.denyList.isDenied(claims)) {
          refuse(401, 'TOKEN_REVOKED', 'this access token was signed out');
        }
      }
      if (!claims) refuse(401, 'UNAUTHENTICATED', 'connect with ?token=<accessToken> or Authorization: Bearer');
      let since: bigint | null = null;
      if (query.since !== undefined) {
        if (!/^\d{1,19}$/.test(query.since)) {
          refuse(400, 'INVALID_SINCE', 'since must be an event store position: a whole number from 0');
        }
        since = BigInt(query.since);
        if (since > MAX_POSITION) refuse(400, 'INVALID_SINCE', 'since is beyond any event store position');
        const head = await deps.eventStore.headPosition();
        if (since > head) {
          refuse(400, 'SINCE_IN_FUTURE', `since ${since} is beyond the newest event (${head})`);
        }
      }
      // A socket without since starts from now: from before the handshake is answered, so an event the client
      // causes once its socket is open (sends a message, say) is never in the moment before this process listens.
      const from = since ?? (await deps.eventStore.settledPosition());
      admitted.set(request, { claims, since, from });
    },
    handler: async (_request, reply) =>
      reply
        .code(426)
        .header('upgrade', 'websocket')
        .send({ error: 'UPGRADE_REQUIRED', message: 'GET /ws is a WebSocket: connect with Upgrade: websocket' }),
    wsHandler: (socket: WebSocket, request: FastifyRequest) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      const entry = admitted.get(request);
      if (!entry) {
        socket.close(CloseCodes.policy, 'not admitted');
        return;
      }
      void open(socket, entry);
    },
  });

  async function open(socket: WebSocket, { claims, since, from }: Admitted): Promise<void> {
    const userId = claims.sub;
    const session = new FeedSession(socket, userId, {
      eventStore: deps.eventStore,
      factsOf: feed.factsOf,
      logger,
      replayMaxEvents: config.FEED_REPLAY_MAX_EVENTS,
    });
    const entry = { session, claims };
    sessions.add(entry);
    let unlisten: (() => void) | undefined;
    let presenceCounted = false;
    const expiresInMs = claims.exp * 1000 - deps.clock.now().getTime();
    const expiry = setTimeout(
      () => session.close(CloseCodes.tokenEnded, 'the access token has expired'),
      Math.max(0, Math.min(expiresInMs, 2_147_000_000)),
    );
    expiry.unref();
    const acks = ackBatcher(session, claims);
    const limiter = { windowStart: Date.now(), count: 0 };

    socket.on('message', (data: Buffer, isBinary: boolean) => {
      const now = Date.now();
      if (now - limiter.windowStart > 10_000) {
        limiter.windowStart = now;
        limiter.count = 0;
      }
      if (++limiter.count > MAX_CLIENT_FRAMES_PER_10S) {
        session.close(CloseCodes.policy, 'too many frames');
        return;
      }
      const fail = (error: string, message: string) => session.send({ type: 'feed:error', data: { error, message } });
      if (isBinary) return fail('BINARY_FRAME', 'send JSON text frames');
      if (data.length > MAX_CLIENT_FRAME_BYTES)
        return fail('FRAME_TOO_LARGE', `at most ${MAX_CLIENT_FRAME_BYTES} bytes`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString('utf8'));
      } catch {
        return fail('INVALID_JSON', 'a frame is one JSON object');
      }
      const type = (parsed as { type?: unknown } | null)?.type;
      if (type !== 'message:ack') return fail('UNKNOWN_FRAME_TYPE', 'the client sends message:ack frames only');
      if (!Value.Check(ClientFrames['message:ack'], parsed)) {
        return fail('INVALID_FRAME', 'message:ack is { type, messageIds: uuid[1..100] }');
      }
      const ignored = acks.add((parsed as { messageIds: string[] }).messageIds);
      if (ignored > 0) fail('UNKNOWN_MESSAGES', `${ignored} id(s) name no message this socket received`);
    });

    const finish = () => {
      session.ended();
      sessions.delete(entry);
      clearTimeout(expiry);
      acks.flush();
      unlisten?.();
      if (presenceCounted) {
        feed.presence
          .socketClosed(userId)
          .then((offline) => (offline ? presenceTo(userId, 'user:offline') : undefined))
          .catch((error) => logger.warn({ err: (error as Error).message }, 'feed presence update failed'));
      }
    };
    socket.on('close', finish);
    socket.on('error', () => socket.terminate());

    try {
      unlisten = await withTimeout(
        feed.subscriber.listen(userId, (message) => session.receive(message)),
        LISTEN_TIMEOUT_MS,
        'subscribing to the feed bus',
      );
      if (session.isClosed) {
        unlisten();
        return;
      }
      presenceCounted = true;
      feed.presence
        .socketOpened(userId)
        .then((online) => (online ? presenceTo(userId, 'user:online') : undefined))
        .catch((error) => logger.warn({ err: (error as Error).message }, 'feed presence update failed'));
      // Events settled since the handshake were published before this process listened: read from the store.
      if (since === null && (await deps.eventStore.headPosition()) <= from) session.startLive(from);
      else await session.catchUp(from);
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'feed socket could not start');
      session.close(CloseCodes.tryAgainLater, 'the feed is unavailable: try again with since');
    }
  }

  /** Acks of one socket, collected for a moment and recorded per conversation (one command each). */
  function ackBatcher(session: FeedSession, claims: AccessClaims) {
    const pending = new Map<string, Set<string>>();
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      const batches = [...pending];
      pending.clear();
      for (const [conversationId, ids] of batches) {
        const now = deps.clock.now().toISOString();
        const requestId = `ws-${uuidv7()}`;
        recordDelivery(
          { store: deps.eventStore, maxRetries: config.COMMAND_MAX_RETRIES },
          { conversationId, recipientId: claims.sub, messageIds: [...ids] },
          { actorId: claims.sub, actorRole: claims.role, now },
          {
            now,
            newId: uuidv7,
            metadata: {
              correlationId: requestId,
              causationId: null,
              actorId: claims.sub,
              actorRole: claims.role,
              requestId,
            },
          },
        ).catch((error) => logger.warn({ err: (error as Error).message, conversationId }, 'delivery not recorded'));
      }
    };
    return {
      /** Queues the ids this socket received as the recipient; returns how many were not such ids. */
      add(messageIds: readonly string[]): number {
        let ignored = 0;
        for (const id of messageIds) {
          const conversationId = session.receivedMessages.get(id);
          if (conversationId === undefined) {
            ignored++;
            continue;
          }
          session.receivedMessages.delete(id);
          let set = pending.get(conversationId);
          if (!set) {
            set = new Set();
            pending.set(conversationId, set);
          }
          set.add(id);
        }
        if (pending.size > 0 && !timer) timer = setTimeout(flush, ACK_FLUSH_MS);
        return ignored;
      },
      flush,
    };
  }
};
