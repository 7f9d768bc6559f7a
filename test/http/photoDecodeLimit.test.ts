import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { multipartBody } from '../support/multipart.js';

/** Noise does not compress: a large image that takes sharp a while to decode and encode. */
const noisyJpeg = (width: number, height: number) =>
  sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();

/** An app with its own photo directory, and what it holds. */
async function appWithLimit(limit: number) {
  const dataDir = await mkdtemp(join(tmpdir(), 'roomline-decode-limit-'));
  const t = await createTestApp({
    projections: false,
    config: { IMAGE_DECODE_CONCURRENCY: String(limit), DATA_DIR: dataDir },
  });
  const storedFiles = async () =>
    (await readdir(join(dataDir, 'files'), { recursive: true }).catch(() => [])).filter((name) =>
      /[0-9a-f]{64}$/.test(name),
    ).length;
  const close = async () => {
    await t.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  return { t, storedFiles, close };
}

async function uploadsOn(t: TestApp, count: number) {
  const landlordId = randomUUID();
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms',
    headers: t.as('landlord', landlordId),
    payload: roomBody(),
  });
  const roomId = room.json().id as string;
  const images = await Promise.all(Array.from({ length: count }, () => noisyJpeg(1200, 900)));
  return Promise.all(
    images.map((content) => {
      const body = multipartBody([{ filename: 'noise.jpg', contentType: 'image/jpeg', content }]);
      return t.app.inject({
        method: 'POST',
        url: `/api/rooms/${roomId}/photos`,
        headers: { ...t.as('landlord', landlordId), ...body.headers },
        payload: body.payload,
      });
    }),
  );
}

describe('image decoding is bounded (IMAGE_DECODE_CONCURRENCY)', () => {
  describe('with a limit of 1', () => {
    let t: TestApp;
    let app: Awaited<ReturnType<typeof appWithLimit>>;
    beforeAll(async () => {
      app = await appWithLimit(1);
      t = app.t;
    });
    afterAll(async () => {
      await app?.close();
    });

    it('never decodes two images at once while 6 uploads run together', async () => {
      expect(t.runtime.imageLimiter.concurrency).toBe(1);
      t.runtime.imageLimiter.resetPeak();
      const responses = await uploadsOn(t, 6);
      expect(responses.map((r) => r.statusCode)).toEqual(Array(6).fill(201));
      expect(t.runtime.imageLimiter.stats()).toMatchObject({ active: 0, queued: 0, peakActive: 1 });
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: t.as('admin') });
      expect(metrics.body).toMatch(/^image_decode_active 0$/m);
    }, 60_000);

    it('answers 503 with Retry-After when the queue is full, and stores nothing', async () => {
      const limiter = t.runtime.imageLimiter;
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const occupying = Array.from({ length: limiter.concurrency + limiter.maxQueued }, () => limiter.run(() => held));
      const before = await app.storedFiles();
      try {
        const [response] = await uploadsOn(t, 1);
        expect(response!.statusCode).toBe(503);
        expect(response!.json().error).toBe('IMAGE_PROCESSING_BUSY');
        expect(Number(response!.headers['retry-after'])).toBeGreaterThan(0);
        expect(await app.storedFiles()).toBe(before);
      } finally {
        release();
        await Promise.all(occupying);
      }
      const [after] = await uploadsOn(t, 1);
      expect(after!.statusCode).toBe(201);
    });
  });

  describe('with a limit of 3', () => {
    let t: TestApp;
    let app: Awaited<ReturnType<typeof appWithLimit>>;
    beforeAll(async () => {
      app = await appWithLimit(3);
      t = app.t;
    });
    afterAll(async () => {
      await app?.close();
    });

    it('decodes several images at once, never more than 3', async () => {
      t.runtime.imageLimiter.resetPeak();
      const responses = await uploadsOn(t, 8);
      expect(responses.map((r) => r.statusCode)).toEqual(Array(8).fill(201));
      const { peakActive } = t.runtime.imageLimiter.stats();
      expect(peakActive).toBeGreaterThan(1);
      expect(peakActive).toBeLessThanOrEqual(3);
    }, 60_000);
  });
});
