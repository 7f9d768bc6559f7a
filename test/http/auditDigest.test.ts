import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../domain/shared/decider.js';
import { toArray } from '../../infra/eventStore/eventStore.js';
import { eventHash } from '../../infra/eventStore/hashChain.js';
import { ledgerProjection } from '../../projections/audit/ledgerProjection.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { runCli } from '../support/cli.js';
import { confirmedBooking, registered } from '../support/notificationFlows.js';

let t: TestApp;
let booking: { bookingId: string };

beforeAll(async () => {
  t = await createTestApp();
  booking = await confirmedBooking(t, await registered(t, 'landlord'), await registered(t, 'tenant'));
});
afterAll(async () => {
  await t?.close();
});

const get = (url: string, role: Role = 'auditor') => t.app.inject({ method: 'GET', url, headers: t.as(role) });

/** A digest once the ledger has chained every event so far. */
async function digestNow() {
  await waitForCheckpoint(t.runtime.pool, ledgerProjection, await t.runtime.rawEventStore.headPosition(), 20_000);
  const answer = await get('/api/audit/digest');
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json() as {
    position: string;
    digest: string;
    events: number;
    signedAt: string;
    signature: string;
    publicKey: string;
    token: string;
  };
}

const verifyToken = async (token: string) => {
  const answer = await get(`/api/audit/verify?digest=${encodeURIComponent(token)}`);
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json() as { valid: boolean; position: string; events: number; firstDifference?: string };
};

describe('ledger digests', () => {
  it('signs a digest of the whole log with Ed25519, which anyone can check with its public key', async () => {
    const kept = await digestNow();
    expect(kept.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(kept.events).toBeGreaterThan(3);
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: kept.publicKey }, format: 'jwk' });
    const text = `roomline ledger digest v1\n${kept.position}\n${kept.digest}\n${kept.signedAt}`;
    expect(verify(null, Buffer.from(text), key, Buffer.from(kept.signature, 'base64url'))).toBe(true);
    expect(verify(null, Buffer.from(`${text}0`), key, Buffer.from(kept.signature, 'base64url'))).toBe(false);
    expect(await verifyToken(kept.token)).toEqual({ valid: true, position: kept.position, events: kept.events });
    for (const role of ['tenant', 'landlord', 'support', 'analyst', 'official'] as const) {
      expect((await get('/api/audit/digest', role)).statusCode, role).toBe(403);
      expect((await get(`/api/audit/verify?digest=${kept.token}`, role)).statusCode, role).toBe(403);
    }
  });

  it('refuses a token it did not sign or cannot read with 400', async () => {
    const kept = await digestNow();
    const parts = kept.token.split('.');
    const forged = [...parts];
    forged[2] = 'f'.repeat(64);
    const resigned = [...parts];
    resigned[4] = `${resigned[4]!.slice(0, -2)}${resigned[4]!.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const token of [forged.join('.'), resigned.join('.')]) {
      const answer = await get(`/api/audit/verify?digest=${encodeURIComponent(token)}`);
      expect(answer.statusCode).toBe(400);
      expect(answer.json().error).toBe('DIGEST_NOT_SIGNED');
    }
    for (const token of ['', 'v1', kept.digest, `v2.${parts.slice(1).join('.')}`, `${kept.token}.x`, 'v1.1e9.x.y.z']) {
      const answer = await get(`/api/audit/verify?digest=${encodeURIComponent(token)}`);
      expect(answer.statusCode, token).toBe(400);
    }
    expect((await get(`/api/audit/verify?digest=${'v'.repeat(300)}`)).statusCode).toBe(400);
    expect((await get('/api/audit/verify')).statusCode).toBe(400);
  });

  it('names the first position that differs: an event changed in place, or changed with its hash rewritten', async () => {
    const kept = await digestNow();
    const stream = `Booking-${booking.bookingId}`;
    const [requested] = await toArray(t.runtime.rawEventStore.readStream(stream, { maxCount: 1 }));
    const original = await t.runtime.pool.query<{ data: string; hash: string }>(
      'SELECT data::text AS data, hash FROM event_store.events WHERE position = $1',
      [requested!.position.toString()],
    );

    // Changed in place: its content no longer matches its hash.
    await t.runtime.pool.query(
      `UPDATE event_store.events SET data = (data::jsonb || '{"totalAmount": 1}')::json WHERE position = $1`,
      [requested!.position.toString()],
    );
    expect(await verifyToken(kept.token)).toMatchObject({
      valid: false,
      firstDifference: requested!.position.toString(),
    });

    // Changed with its hash rewritten to match (the stream's own chain then breaks only at its next event): the
    // ledger recorded the old hash, so it still parts, at or before the event.
    const [changed] = await toArray(t.runtime.rawEventStore.readStream(stream, { maxCount: 1 }));
    await t.runtime.pool.query('UPDATE event_store.events SET hash = $2 WHERE position = $1', [
      requested!.position.toString(),
      eventHash(changed!.previousHash, changed!),
    ]);
    const rewritten = await verifyToken(kept.token);
    expect(rewritten.valid).toBe(false);
    expect(BigInt(rewritten.firstDifference!)).toBeLessThanOrEqual(requested!.position);

    // Put back as it was: the same digest verifies again.
    await t.runtime.pool.query('UPDATE event_store.events SET data = $2::json, hash = $3 WHERE position = $1', [
      requested!.position.toString(),
      original.rows[0]!.data,
      original.rows[0]!.hash,
    ]);
    expect((await verifyToken(kept.token)).valid).toBe(true);
  });
});

/** `npm run cli -- audit …` against this test's database. */
const cli = (...args: string[]) => runCli(['audit', ...args], { DATABASE_URL: t.runtime.config.DATABASE_URL });

describe('audit exports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roomline-audit-export-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exports a range as NDJSON with a manifest whose digest is the signed one, checked offline by the CLI', async () => {
    const kept = await digestNow();
    const answer = await get(`/api/audit/export?to=${kept.position}`);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.headers['content-type']).toContain('application/x-ndjson');
    const lines = answer.body.trimEnd().split('\n');
    expect(JSON.parse(lines[0]!).export).toMatchObject({ from: '0', to: kept.position });
    const manifest = JSON.parse(lines.at(-1)!).manifest;
    expect(manifest).toMatchObject({ count: kept.events, digest: kept.digest, lastPosition: kept.position });
    expect(lines).toHaveLength(kept.events + 2);
    const file = join(dir, 'http.ndjson');
    writeFileSync(file, answer.body);
    const checked = await cli('verify-export', file);
    expect(checked.code, checked.stderr).toBe(0);
    expect(JSON.parse(checked.stdout)).toEqual({ valid: true, count: kept.events });

    // The same range from the CLI, straight from the database: the same bytes.
    const out = join(dir, 'cli.ndjson');
    const exported = await cli('export', '--to', kept.position, '--out', out);
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(answer.body);

    // A range from the middle starts from the ledger link before it, and still checks.
    const middle = JSON.parse(lines[3]!).position as string;
    const part = await get(`/api/audit/export?from=${middle}&to=${kept.position}`);
    writeFileSync(join(dir, 'part.ndjson'), part.body);
    expect(JSON.parse(part.body.trimEnd().split('\n').at(-1)!).manifest.digest).toBe(kept.digest);
    expect((await cli('verify-export', join(dir, 'part.ndjson'))).code).toBe(0);
  });

  it('finds a changed, dropped or truncated copy, and names the changed event', async () => {
    const body = readFileSync(join(dir, 'http.ndjson'), 'utf8');
    const lines = body.trimEnd().split('\n');
    const target = JSON.parse(lines[2]!);
    const changed = [...lines];
    changed[2] = JSON.stringify({ ...target, data: { ...target.data, totalAmount: 1 } });
    // The manifest's sha-256 is recomputed too, as someone who edits the copy would do: the hash still gives it away.
    const manifest = JSON.parse(changed.at(-1)!).manifest;
    manifest.sha256 = createHash('sha256')
      .update(
        changed
          .slice(1, -1)
          .map((line) => `${line}\n`)
          .join(''),
      )
      .digest('hex');
    changed[changed.length - 1] = JSON.stringify({ manifest });
    writeFileSync(join(dir, 'changed.ndjson'), `${changed.join('\n')}\n`);
    const result = await cli('verify-export', join(dir, 'changed.ndjson'));
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: false, firstDifference: target.position });

    const dropped = lines.filter((_, i) => i !== 3);
    writeFileSync(join(dir, 'dropped.ndjson'), `${dropped.join('\n')}\n`);
    expect((await cli('verify-export', join(dir, 'dropped.ndjson'))).code).toBe(1);
    writeFileSync(join(dir, 'truncated.ndjson'), `${lines.slice(0, -1).join('\n')}\n`);
    expect(JSON.parse((await cli('verify-export', join(dir, 'truncated.ndjson'))).stdout).valid).toBe(false);
    writeFileSync(join(dir, 'garbage.ndjson'), 'not json\n');
    expect((await cli('verify-export', join(dir, 'garbage.ndjson'))).code).toBe(1);
  });

  it('refuses bad ranges with 400, other roles with 403, and a CLI call without its arguments with usage', async () => {
    for (const query of ['from=2&to=1', 'from=abc', 'to=-1', 'from=1e3', 'to=99999999999999999999', 'other=1']) {
      expect((await get(`/api/audit/export?${query}`)).statusCode, query).toBe(400);
    }
    for (const role of ['tenant', 'landlord', 'support', 'analyst'] as const) {
      expect((await get('/api/audit/export', role)).statusCode, role).toBe(403);
    }
    expect((await cli('export', '--from', 'x')).code).toBe(2);
    expect((await cli('verify-export')).code).toBe(2);
  });
});
