import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Config } from '../infra/config/config.js';
import { ApiError } from './errors.js';
import { UUID_PATTERN } from './schemas.js';

/**
 * Page cursors for every list of the API: opaque to clients, signed (HMAC-SHA256) and bound to the list
 * that gave them (`scope`), so a cursor that reaches a query is always one this API wrote. A cursor
 * edited, forged, truncated or taken from another list answers 400 `INVALID_CURSOR` before any query.
 */
export interface CursorCodec {
  encode(scope: string, value: unknown): string;
  /** The value given to `encode` with the same scope; throws ApiError 400 `INVALID_CURSOR` otherwise. */
  decode(scope: string, cursor: string): unknown;
}

const MAC_BYTES = 16;
const SHAPE = /^[A-Za-z0-9_-]{1,2000}\.[A-Za-z0-9_-]{22}$/;

export const invalidCursor = (why = 'the cursor is not one this list gave') => new ApiError(400, 'INVALID_CURSOR', why);

/** A codec keyed by `secret`; every API process with the same secret reads every other's cursors. */
export function createCursorCodec(secret: string | Buffer): CursorCodec {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'roomline page cursors', 32));
  const mac = (scope: string, payload: string) =>
    createHmac('sha256', key).update(scope).update('\n').update(payload).digest().subarray(0, MAC_BYTES);
  return {
    encode(scope, value) {
      const payload = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
      return `${payload}.${mac(scope, payload).toString('base64url')}`;
    },
    decode(scope, cursor) {
      if (!SHAPE.test(cursor)) throw invalidCursor();
      const [payload = '', signature = ''] = cursor.split('.');
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(scope, payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor();
      try {
        return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
      } catch {
        throw invalidCursor();
      }
    },
  };
}

const codecs = new WeakMap<Config, CursorCodec>();

/** The app's codec, keyed from JWT_SECRET (rotating it ends every cursor, as it ends every session). */
export function cursorCodec(config: Config): CursorCodec {
  let codec = codecs.get(config);
  if (!codec) {
    codec = createCursorCodec(config.JWT_SECRET);
    codecs.set(config, codec);
  }
  return codec;
}

const UUID = new RegExp(UUID_PATTERN);

/** A keyset position `[key, id]`: the sort key of the page's last row (a string) and its UUID. */
export function decodeKeyset(codec: CursorCodec, scope: string, cursor: string | undefined): [string, string] | null {
  if (cursor === undefined || cursor === '') return null;
  const value = codec.decode(scope, cursor);
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== 'string' ||
    typeof value[1] !== 'string' ||
    !UUID.test(value[1])
  ) {
    throw invalidCursor();
  }
  return [value[0], value[1]];
}

export const encodeKeyset = (codec: CursorCodec, scope: string, key: string, id: string): string =>
  codec.encode(scope, [key, id]);
