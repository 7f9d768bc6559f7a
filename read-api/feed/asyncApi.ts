import { ClientFrames, FrameData, type FrameType, frameSchema } from '../../projections/feed/frames.js';

/** JSON Schema without TypeBox's symbol-keyed bookkeeping (a deep copy through JSON). */
const plain = (schema: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(schema));

const messageName = (type: string) => type.replace(/[^A-Za-z0-9]+(.)/g, (_, c: string) => c.toUpperCase());

let cached: Record<string, unknown> | undefined;

/**
 * The AsyncAPI 3.0 document of `GET /ws`, made from the same TypeBox schemas the frames are built from
 * (projections/feed/frames.ts): one message per frame type, server to client, and the client's ack.
 */
export function asyncApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const serverTypes = Object.keys(FrameData) as FrameType[];
  const messages: Record<string, unknown> = {};
  for (const type of serverTypes) {
    messages[messageName(type)] = {
      name: type,
      title: type,
      summary: (FrameData[type] as { description?: string }).description ?? type,
      contentType: 'application/json',
      payload: plain(frameSchema(type)),
    };
  }
  messages.messageAck = {
    name: 'message:ack',
    title: 'message:ack',
    summary: ClientFrames['message:ack'].description,
    contentType: 'application/json',
    payload: plain(ClientFrames['message:ack']),
  };
  const feedMessages = Object.fromEntries(
    Object.keys(messages).map((name) => [name, { $ref: `#/components/messages/${name}` }]),
  );
  cached = {
    asyncapi: '3.0.0',
    info: {
      title: 'Roomline WebSocket feed',
      version: '0.1.0',
      description: [
        'Real-time frames for the signed-in person: `{ type, data, position }`, `position` being the event store',
        'position of the event that caused the frame (presence frames have none). A person receives only what',
        'concerns them, whichever API process holds the socket.',
        '',
        'Connect to `GET /ws` with the access token as `?token=` or `Authorization: Bearer`. A bad token is refused',
        'before the upgrade (401); an open socket is closed with code 4401 when its token expires or is revoked',
        '(logout, role change, erasure), 1001 when the server shuts down, 1008 on a policy breach (too many frames),',
        '1009 for a frame over 64 KiB, 1013 when the client should reconnect later with `since`.',
        '',
        'Reconnect with `?since=<the last position you received>`: every frame missed since then comes first,',
        'exactly once and in order, then `feed:live` (sent once on every socket, with or without `since`), then live',
        'frames. `since` must be a position from 0 up to the newest event',
        '(400 INVALID_SINCE / SINCE_IN_FUTURE otherwise). Too far behind, a `feed:resync` frame says to refetch',
        'through the REST API. Acknowledge the `message:sent` frames you receive with `message:ack`: the sender then',
        'gets `message:delivered`.',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      api: {
        host: 'localhost:3000',
        protocol: 'ws',
        description: 'The API process (any of them): the feed is served beside the HTTP API.',
        security: [{ $ref: '#/components/securitySchemes/accessToken' }],
      },
    },
    channels: {
      feed: {
        address: '/ws',
        title: 'The signed-in person’s feed',
        servers: [{ $ref: '#/servers/api' }],
        messages: feedMessages,
        bindings: {
          ws: {
            method: 'GET',
            query: plain({
              type: 'object',
              properties: {
                token: { type: 'string', description: 'the access token (or Authorization: Bearer)' },
                since: {
                  type: 'string',
                  pattern: '^\\d{1,19}$',
                  description: 'replay every frame after this event store position first',
                },
              },
            }),
          },
        },
      },
    },
    operations: {
      receiveFrames: {
        action: 'send',
        title: 'Frames the server sends',
        channel: { $ref: '#/channels/feed' },
        messages: serverTypes.map((type) => ({ $ref: `#/channels/feed/messages/${messageName(type)}` })),
      },
      acknowledgeMessages: {
        action: 'receive',
        title: 'Acknowledgements the client sends',
        channel: { $ref: '#/channels/feed' },
        messages: [{ $ref: '#/channels/feed/messages/messageAck' }],
      },
    },
    components: {
      messages,
      securitySchemes: {
        accessToken: { type: 'httpApiKey', name: 'token', in: 'query', description: 'or Authorization: Bearer' },
      },
    },
  };
  return cached;
}
