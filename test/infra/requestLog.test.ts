import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/runtime.js';
import { createTestApp, type TestApp } from '../support/app.js';

const lines: string[] = [];
let t: TestApp;
beforeAll(async () => {
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  t = await createTestApp({ logger: createLogger({ LOG_LEVEL: 'info' }, destination) });
});
afterAll(async () => {
  await t?.close();
});

const completed = (requestId: string) =>
  lines
    .map((line) => JSON.parse(line))
    .filter((entry) => entry.msg === 'request completed' && entry.reqId === requestId);

describe('request logs', () => {
  it('have one line per request, when answered, with its status, time and who asked', async () => {
    const userId = '0b6f6d1e-3c1a-4f5e-9a51-2d8c4f6b7a10';
    const response = await t.app.inject({
      url: '/api/notifications',
      headers: { ...t.as('tenant', userId), 'x-request-id': 'log-test-1' },
    });
    expect(response.statusCode).toBe(200);
    const entries = completed('log-test-1');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      req: { method: 'GET', url: '/api/notifications' },
      res: { statusCode: 200 },
      userId,
    });
    expect(entries[0].responseTime).toBeGreaterThanOrEqual(0);
    expect(lines.join('')).not.toMatch(/Bearer/);
  });

  it('redact an access token sent in the query string (the WebSocket feed takes ?token=)', async () => {
    await t.app.inject({
      url: '/ws?since=5&token=eyJ.secret-part.sig&ACCESS_TOKEN=other-secret',
      headers: { 'x-request-id': 'log-test-2' },
    });
    const [entry] = completed('log-test-2');
    expect(entry.req.url).toBe('/ws?since=5&token=[redacted]&ACCESS_TOKEN=[redacted]');
    expect(entry.req.method).toBe('GET');
    expect(lines.join('')).not.toMatch(/secret/);
  });
});
