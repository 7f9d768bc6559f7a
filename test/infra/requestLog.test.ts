import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/runtime.js';

describe('request logs', () => {
  it('redact an access token sent in the query string (the WebSocket feed takes ?token=)', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = Fastify({ loggerInstance: createLogger({ LOG_LEVEL: 'info' }, destination) as never });
    app.get('/ws', async () => 'ok');
    await app.inject({ url: '/ws?since=5&token=eyJ.secret-part.sig&ACCESS_TOKEN=other-secret' });
    await app.close();
    const incoming = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'incoming request');
    expect(incoming.req.url).toBe('/ws?since=5&token=[redacted]&ACCESS_TOKEN=[redacted]');
    expect(incoming.req.method).toBe('GET');
    expect(lines.join('')).not.toMatch(/secret/);
  });
});
