import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Role, Roles } from '../../domain/shared/decider.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { openapiValidator } from './openapiValidator.js';
import { daysFromNow, type Seeded, seed } from './seed.js';

/**
 * Issue 9, item 5: a property test driven by the app's own OpenAPI document. Every documented operation gets
 * requests with valid, boundary and invalid path, query, header and body values (real ids from seeded data
 * among them), with a token of every role, a broken token or none. No answer may be a 5xx, every error answer
 * is `{ error, message }`, every answer matches the document, and nothing rejects unhandled.
 *
 * Replay a failure with the seed and path it prints: FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run <this file>.
 * FUZZ_RUNS changes the number of requests (default 10,000).
 */

type Schema = {
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  default?: unknown;
};
type Parameter = { in: 'path' | 'query' | 'header'; name: string; required?: boolean; schema: Schema };
type Operation = {
  method: string;
  path: string;
  parameters: Parameter[];
  body: Schema | null;
  multipart: boolean;
  description: string;
};
interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

/** Slow by design (password hashing, the whole metrics registry): sent less often. */
const SLOW_OPERATIONS =
  /^(GET \/metrics|POST \/api\/auth\/(login|register|password-reset)|PUT \/api\/auth\/password|GET \/api\/auth\/me)/;
const BATCH = 8;

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() ^ (Math.random() * 2 ** 31);
const PATH = process.env.FUZZ_PATH;

let t: TestApp;
let data: Seeded;
let dataDir: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  dataDir = await mkdtemp(join(tmpdir(), 'roomline-fuzz-'));
  t = await createTestApp({
    config: { DATA_DIR: dataDir, RATE_LIMIT_PER_MINUTE: '1000000', MIN_POSITION_WAIT_MS: '100' },
  });
  data = await seed(t);
  // Every read model has applied the seed before the first request: the audit digest answers 503 until the ledger
  // has a row, which is right for a fresh store and not what this test is about (a run failed on it once).
  const head = await t.runtime.eventStore.headPosition();
  for (const projection of t.runtime.projections.filter((p) => !p.elsewhere)) {
    await waitForCheckpoint(t.runtime.pool, projection, head, 60_000);
  }
}, 180_000);
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await t?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function operationsOf(document: { paths: Record<string, Record<string, Record<string, unknown>>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const content = (operation.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content;
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: (operation.parameters ?? []) as Parameter[],
        body: content?.['application/json']?.schema ?? null,
        multipart: /photos$|upload-photo$/.test(path) && method === 'post',
        description: String(operation.description ?? ''),
      });
    }
  }
  return operations;
}

// ---------------------------------------------------------------- values

const ascii = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});
const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '👩🏽‍🚀🏳️‍🌈',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
  '\u202eevil',
  '%',
  '%00',
  '%zz',
  '../../etc/passwd',
  "'; DROP TABLE events; --",
  '<script>alert(1)</script>',
  '\u0024{jndi:ldap://x}',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '9223372036854775808',
  '-9223372036854775809',
  '0x1F',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'urn:uuid:00000000-0000-0000-0000-000000000000',
  '{00000000-0000-0000-0000-000000000000}',
  '00000000000000000000000000000000',
  '------------------------------------',
  '2026-02-30',
  '0000-00-00',
  '9999-12-31',
  '2026-13-01T25:61:61Z',
);
const unicode = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ maxLength: 300 }).map((s) => s.repeat(3)),
  fc.integer({ min: 1000, max: 6000 }).map((n) => 'é'.repeat(n)),
);
const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);
const anything = fc.oneof(nasty, unicode, wrongType, ascii);

const isUuid = (s: Schema) => s.format === 'uuid' || s.pattern?.startsWith('^[0-9a-fA-F]{8}') === true;

function ids(): string[] {
  const pool = [
    data.universityId,
    data.venueId,
    data.sessionId,
    data.roomId,
    data.draftRoomId,
    data.bookingId,
    ...Object.values(data.users),
  ];
  if (data.registeredUserId) pool.push(data.registeredUserId);
  if (data.photo) pool.push(data.photo.id);
  if (data.conversation) pool.push(data.conversation.id, data.conversation.messageId, data.conversation.photoId);
  return pool;
}

/** Values the schema admits (and its boundaries), with real ids and cursors where the name says so. */
function valid(schema: Schema, name: string, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return fc.oneof(...union.map((s) => valid(s, name, depth)));
  if (schema.allOf) return valid(Object.assign({}, ...schema.allOf), name, depth);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': {
      if (isUuid(schema)) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ids()) }, fc.uuid());
      if (name === 'cursor') {
        const real = Object.values(data.cursors).filter((c): c is string => !!c);
        const b64 = (text: string) => Buffer.from(text).toString('base64url');
        const forged = [
          'YQB4',
          b64(`zzz\u0000${'-'.repeat(36)}`),
          b64(`${new Date().toISOString()}|not-a-uuid`),
          b64(JSON.stringify(['ranking', '1', '-'.repeat(36)])),
          ...real.map((c) => c.slice(0, -3)),
          ...real.map((c) => `${c.slice(0, 2)}${c[2] === 'A' ? 'B' : 'A'}${c.slice(3)}`),
        ];
        // A real cursor is often sent to another list than the one that gave it: that must be a 400 too.
        return fc.oneof(
          { weight: 3, arbitrary: real.length ? fc.constantFrom(...real) : fc.constant('') },
          fc.constantFrom(...forged),
        );
      }
      if (name === 'key' && data.photo) return fc.constant(data.photo.url.split('/').pop()!);
      if (schema.format === 'date-time')
        return fc.integer({ min: -800, max: 800 }).map((d) => new Date(Date.now() + d * 86_400_000).toISOString());
      if (schema.pattern === '^\\d{4}-\\d{2}-\\d{2}$') return fc.integer({ min: -30, max: 400 }).map(daysFromNow);
      if (schema.pattern?.startsWith('^\\d')) return fc.bigInt(0n, BigInt(data.lastPosition) + 3n).map(String);
      if (schema.format === 'email') return fc.emailAddress();
      if (schema.pattern) {
        const pattern = new RegExp(schema.pattern);
        return fc.stringMatching(pattern).filter((s) => s.length <= (schema.maxLength ?? 1000));
      }
      const min = schema.minLength ?? 0;
      const max = Math.min(schema.maxLength ?? 80, 10_000);
      return fc.oneof(
        { weight: 4, arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, min + 40) }) },
        fc.constant('x'.repeat(min)),
        fc.constant('ü'.repeat(max)),
        fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.min(max, min + 20) }),
      );
    }
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1e6);
      const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1e6);
      const inner =
        type === 'integer'
          ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
          : fc.double({ min, max, noNaN: true });
      return fc.oneof({ weight: 4, arbitrary: inner }, fc.constantFrom(min, max));
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(depth > 4 ? fc.constant(null) : valid(schema.items ?? {}, name, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 4, 4)),
      });
    case 'object': {
      const properties = schema.properties ?? {};
      if (depth > 4 || Object.keys(properties).length === 0) return fc.constant({});
      const record = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, field(s, k, depth + 1)]));
      return fc.record(record, { requiredKeys: (schema.required ?? []).filter((k) => k in properties) });
    }
    default:
      return anything;
  }
}

/** Mostly valid, sometimes anything at all. */
const field = (schema: Schema, name: string, depth = 0) =>
  fc.oneof({ weight: 12, arbitrary: valid(schema, name, depth) }, { weight: 1, arbitrary: anything });

/** A body: valid, or missing a required field, or with an extra one, or no object at all, or not JSON. */
function body(schema: Schema): fc.Arbitrary<{ payload: string; type: string }> {
  const json = (value: unknown) => ({ payload: JSON.stringify(value) ?? 'null', type: 'application/json' });
  const object = valid(schema, 'body');
  return fc.oneof(
    { weight: 10, arbitrary: object.map(json) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(object, fc.constantFrom(...(schema.required?.length ? schema.required : ['x'])))
        .map(([o, k]) => {
          if (o && typeof o === 'object') delete (o as Record<string, unknown>)[k];
          return json(o);
        }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(object, ascii, anything).map(([o, k, v]) => json({ ...(o as object), [k || 'extra']: v })),
    },
    { weight: 1, arbitrary: anything.map(json) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc
          .constantFrom('', '{', '{"a":', '[1,2', '\u0000', '{"__proto__":{"x":1}}', '{"a":1}{"b":2}')
          .map((payload) => ({
            payload,
            type: 'application/json',
          })),
        fc
          .tuple(
            object,
            fc.constantFrom(
              'text/plain',
              'application/x-www-form-urlencoded',
              'application/xml',
              'multipart/form-data',
            ),
          )
          .map(([o, type]) => ({ payload: JSON.stringify(o) ?? '', type })),
      ),
    },
  );
}

/** A multipart body that is broken in one of many ways (the upload routes' own tests send good ones). */
const multipart = fc.oneof(
  fc.constant({ payload: Buffer.from('not multipart at all'), type: 'multipart/form-data' }),
  fc.constant({
    payload: Buffer.from('--b\r\nContent-Disposition: form-data; name="photos"\r\n\r\nxx'),
    type: 'multipart/form-data; boundary=b',
  }),
  fc.uint8Array({ maxLength: 2000 }).map((bytes) => ({
    payload: Buffer.concat([
      Buffer.from(
        '--b\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n',
      ),
      Buffer.from([0xff, 0xd8, 0xff]),
      Buffer.from(bytes),
      Buffer.from('\r\n--b--\r\n'),
    ]),
    type: 'multipart/form-data; boundary=b',
  })),
  fc.constant({ payload: Buffer.from('--b--\r\n'), type: 'multipart/form-data; boundary=b' }),
  fc.constant({ payload: Buffer.from('{}'), type: 'application/json' }),
);

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Percent-encodes UTF-8 (a lone surrogate becomes U+FFFD), or now and then sends the raw text. */
const encode = (value: unknown) =>
  typeof value === 'string'
    ? encodeURIComponent(value.replace(LONE_SURROGATE, '\ufffd'))
    : encodeURIComponent(JSON.stringify(value) ?? '');
const queryValue = (value: unknown) =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);

type Who = Role | 'none' | 'garbage' | 'foreign';
const who: fc.Arbitrary<Who> = fc.constantFrom<Who>(...Roles, 'none', 'garbage', 'foreign');

function requestFor(
  op: Operation,
): fc.Arbitrary<{ who: Who; request: Omit<FuzzRequest, 'headers'> & { headers: Record<string, string> } }> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const headerParams = op.parameters.filter((p) => p.in === 'header');
  const pathArb = fc.tuple(
    ...pathParams.map((p) =>
      fc.oneof(
        { weight: 6, arbitrary: valid(p.schema, p.name).map(encode) },
        { weight: 2, arbitrary: anything.map(encode) },
        { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '..', '%2F', ';', '*') },
      ),
    ),
  );
  const queryArb = fc.tuple(
    ...queryParams.map((p) =>
      fc.option(fc.oneof({ weight: 5, arbitrary: valid(p.schema, p.name) }, { weight: 2, arbitrary: anything }), {
        freq: p.required ? 8 : 2,
      }),
    ),
    fc.option(fc.tuple(ascii, ascii), { freq: 10 }),
  );
  const headerArb = fc.tuple(
    ...headerParams.map((p) =>
      fc.option(
        fc.oneof(
          valid(p.schema, p.name).map(String),
          ascii,
          fc.constantFrom('"0"', 'W/"1"', '*', '-1', '99999999999999999999'),
        ),
        { freq: 2 },
      ),
    ),
  );
  const bodyArb = op.multipart
    ? fc.option(multipart, { freq: 8 })
    : op.body
      ? fc.option(body(op.body), { freq: 10 })
      : fc.constant(null);
  // Mostly a role the route admits (read from the access note in its description), so handlers go deep.
  const admitted =
    /Access: ([a-z, ]+)\./
      .exec(op.description)?.[1]
      ?.split(', ')
      .filter((r): r is Role => (Roles as readonly string[]).includes(r)) ?? [];
  const whoArb =
    admitted.length > 0
      ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...admitted) }, { weight: 2, arbitrary: who })
      : who;
  return fc.record({ who: whoArb, path: pathArb, query: queryArb, headers: headerArb, body: bodyArb }).map((r) => {
    let i = 0;
    const path = op.path.replace(/\{[^}]+\}/g, () => String(r.path[i++] ?? ''));
    const search = new URLSearchParams();
    queryParams.forEach((p, j) => {
      const value = r.query[j];
      if (value !== null && value !== undefined)
        search.append(p.name, queryValue(value).replace(LONE_SURROGATE, '\ufffd'));
    });
    const extra = r.query[queryParams.length] as [string, string] | null;
    if (extra) search.append(extra[0] || 'extra', extra[1]);
    const headers: Record<string, string> = {};
    headerParams.forEach((p, j) => {
      const value = r.headers[j];
      if (value !== null && value !== undefined) headers[p.name] = value.replace(/[^\x20-\x7e]/g, '?');
    });
    const b = r.body as { payload: string | Buffer; type: string } | null;
    if (b) headers['content-type'] = b.type;
    const qs = search.toString();
    return {
      who: r.who,
      request: { method: op.method, url: qs ? `${path}?${qs}` : path, headers, ...(b ? { payload: b.payload } : {}) },
    };
  });
}

function authorization(w: Who): Record<string, string> {
  if (w === 'none') return {};
  if (w === 'garbage') return { authorization: 'Bearer not.a.token' };
  // A well-formed token of a user the app has never heard of.
  if (w === 'foreign') return t.as('tenant', randomUUID());
  // Minted per request: a role change or erasure the fuzz itself makes ends the earlier tokens.
  return t.as(w, data.users[w]);
}

const describeRequest = (r: FuzzRequest) =>
  `${r.method} ${r.url.length > 400 ? `${r.url.slice(0, 400)}… (${r.url.length} characters)` : r.url}\nheaders: ${JSON.stringify(r.headers)}\nbody: ${
    r.payload === undefined
      ? '(none)'
      : Buffer.isBuffer(r.payload)
        ? `<${r.payload.length} bytes>`
        : r.payload.slice(0, 2000)
  }`;

it(`answers ${RUNS} generated requests over every documented route with no 5xx, as documented`, async () => {
  await t.app.ready();
  const document = t.app.swagger() as unknown as { paths: Record<string, Record<string, Record<string, unknown>>> };
  const operations = operationsOf(document);
  const validator = await openapiValidator(t.app);
  const one = fc.oneof(
    ...operations.map((op) => ({
      weight: SLOW_OPERATIONS.test(`${op.method} ${op.path}`) ? 1 : 6,
      arbitrary: requestFor(op).map((r) => ({ op, ...r })),
    })),
  );
  // A few requests at once: the app is mostly waiting on PostgreSQL and Redis, and concurrency finds races too.
  const arbitrary = fc.array(one, { minLength: BATCH, maxLength: BATCH });
  const statuses = new Map<string, number>();
  const documentViolations = new Map<string, string>();
  const timeByOperation = new Map<string, number>();
  const slow: string[] = [];
  let sent = 0;
  const started = Date.now();
  const send = async ({
    op,
    who,
    request,
  }: {
    op: Operation;
    who: Who;
    request: FuzzRequest;
  }): Promise<string | null> => {
    const full: FuzzRequest = { ...request, headers: { ...request.headers, ...authorization(who) } };
    const began = performance.now();
    const response = await t.app.inject(full as never);
    const took = performance.now() - began;
    timeByOperation.set(`${op.method} ${op.path}`, (timeByOperation.get(`${op.method} ${op.path}`) ?? 0) + took);
    if (took > 100) slow.push(`${Math.round(took)} ms ${response.statusCode} ${describeRequest(full).slice(0, 300)}`);
    sent++;
    const key = `${full.method} ${response.statusCode}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    const problems: string[] = [];
    if (response.statusCode >= 500) problems.push(`answered ${response.statusCode}`);
    if (response.statusCode >= 400) {
      let error: unknown;
      try {
        error = response.json();
      } catch {
        problems.push(`error answer is not JSON: ${response.body.slice(0, 200)}`);
      }
      const e = error as { error?: unknown; message?: unknown } | undefined;
      if (e && (typeof e.error !== 'string' || typeof e.message !== 'string'))
        problems.push('error answer is not { error, message }');
    }
    const violations = validator.check({
      method: full.method,
      url: full.url,
      status: response.statusCode,
      headers: response.headers,
      body: response.body,
      route: op.path.replace(/\{(\w+)\}/g, ':$1'),
    });
    for (const violation of violations) {
      // One example per operation, status and kind of violation: they are listed together at the end.
      const kind = `${op.method} ${op.path} ${response.statusCode} ${violation.replace(/^.*?: /, '').slice(0, 60)}`;
      if (!documentViolations.has(kind))
        documentViolations.set(kind, `${violation.slice(0, 1500)}\n  request (as ${who}): ${describeRequest(full)}`);
    }
    if (unhandled.length > 0) problems.push(`unhandled rejection: ${String(unhandled[0])}`);
    if (problems.length > 0) {
      return `${problems.join('\n')}\nrequest (as ${who}): ${describeRequest(full)}\nanswer: ${response.statusCode} ${response.body.slice(0, 400)}`;
    }
    return null;
  };
  if (process.env.FUZZ_PROFILE) {
    const g = performance.now();
    fc.sample(arbitrary, 250);
    console.info(`fuzz: generating 1000 requests takes ${Math.round(performance.now() - g)} ms`);
    const v = performance.now();
    for (let i = 0; i < 1000; i++)
      validator.check({
        method: 'GET',
        url: '/api/universities',
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: '{"items":[],"nextCursor":null}',
        route: '/api/universities',
      });
    console.info(`fuzz: validating 1000 answers takes ${Math.round(performance.now() - v)} ms`);
    const h = performance.now();
    for (let i = 0; i < 200; i++) await t.app.inject({ method: 'GET', url: '/health/live' });
    console.info(`fuzz: 200 GET /health/live take ${Math.round(performance.now() - h)} ms`);
    const u = performance.now();
    for (let i = 0; i < 200; i++)
      await t.app.inject({ method: 'GET', url: '/api/universities', headers: authorization('tenant') });
    console.info(`fuzz: 200 GET /api/universities take ${Math.round(performance.now() - u)} ms`);
    const n = performance.now();
    for (let i = 0; i < 200; i++) await t.app.inject({ method: 'GET', url: '/api/universities' });
    console.info(`fuzz: 200 GET /api/universities without a token take ${Math.round(performance.now() - n)} ms`);
    const r = performance.now();
    for (let i = 0; i < 200; i++)
      await t.app.inject({ method: 'GET', url: '/api/rooms/search', headers: authorization('tenant') });
    console.info(`fuzz: 200 GET /api/rooms/search 400s take ${Math.round(performance.now() - r)} ms`);
  }
  console.info(
    `fuzz: seed ${SEED}${PATH ? ` path ${PATH}` : ''}, ${RUNS} requests over ${operations.length} operations`,
  );
  await fc.assert(
    fc.asyncProperty(arbitrary, async (batch) => {
      const failures = (await Promise.all(batch.map((entry) => send(entry)))).filter((f): f is string => f !== null);
      if (failures.length > 0) throw new Error(failures.join('\n\n'));
    }),
    {
      numRuns: Math.ceil(RUNS / BATCH),
      seed: SEED,
      ...(PATH ? { path: PATH } : {}),
      endOnFailure: !!process.env.FUZZ_NO_SHRINK,
    },
  );

  const seconds = (Date.now() - started) / 1000;
  console.info(
    `fuzz: ${sent} requests in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
  );
  if (process.env.FUZZ_PROFILE) {
    console.info(
      [...timeByOperation]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([k, v]) => `${Math.round(v)} ms ${k}`)
        .join('\n'),
    );
    console.info(slow.slice(0, 30).join('\n'));
  }
  expect([...documentViolations].map(([, v]) => v)).toEqual([]);
  expect(sent).toBeGreaterThanOrEqual(RUNS);
  expect(unhandled).toEqual([]);
  // Nothing the API accepted may poison a projection: every event it stored is one the read models can apply.
  const head = (await t.runtime.eventStore.headPosition()).toString();
  let statusesOfProjections: Array<{ name: string; lastError: string | null; parkedEvents: number }> = [];
  for (let i = 0; i < 100; i++) {
    const response = await t.app.inject({ method: 'GET', url: '/api/ops/projections', headers: t.as('support') });
    statusesOfProjections = response.json();
    if (
      statusesOfProjections.every(
        (p) => BigInt((p as unknown as { checkpoint: string }).checkpoint) >= BigInt(head) || p.lastError,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(statusesOfProjections.filter((p) => p.lastError || p.parkedEvents > 0)).toEqual([]);
}, 600_000);
