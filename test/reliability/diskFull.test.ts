import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { multipartBody } from '../support/multipart.js';

/**
 * The file store's disk fills up: a real tmpfs of 384 KiB under DATA_DIR/files (mounting needs root, as CI has),
 * so the kernel itself answers ENOSPC part-way through writing a photo.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'roomline-disk-full-'));
const filesDir = join(dataDir, 'files');
mkdirSync(filesDir);
let mountError: string | null = null;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=384k', 'tmpfs', filesDir], { stdio: 'pipe' });
} catch (error) {
  mountError = ((error as { stderr?: Buffer }).stderr?.toString() || (error as Error).message).trim();
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A noisy JPEG that recompresses to about 100 KB, other bytes each call. */
async function photo(): Promise<Buffer> {
  const width = 640;
  const height = 480;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(Math.random() * 256);
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 60 })
    .toBuffer();
}

/** Every file under the store's root, temporary ones included. */
function filesOnDisk(): string[] {
  return readdirSync(filesDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);
}

if (mountError === null) {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ config: { DATA_DIR: dataDir } });
  });
  afterAll(async () => {
    await t?.close();
    execFileSync('umount', [filesDir]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  describe('the file store runs out of disk', () => {
    const landlordId = randomUUID();
    const owner = () => t.as('landlord', landlordId);
    const upload = async (roomId: string, content: Buffer) => {
      const body = multipartBody([{ filename: 'room.jpg', contentType: 'image/jpeg', content }]);
      return t.app.inject({
        method: 'POST',
        url: `/api/rooms/${roomId}/photos`,
        headers: { ...owner(), ...body.headers },
        payload: body.payload,
      });
    };

    it('answers 507 with the error shape, keeps no half-written file, serves every photo it accepted whole, and takes uploads again once there is room', async () => {
      const created = await t.app.inject({ method: 'POST', url: '/api/rooms', headers: owner(), payload: roomBody() });
      expect(created.statusCode).toBe(201);
      const roomId = created.json().id as string;

      const accepted: Array<{ url: string; thumbnailUrl: string }> = [];
      let position = '0';
      let full: Awaited<ReturnType<typeof upload>> | undefined;
      // 384 KiB holds a few photos and their thumbnails; the room takes up to 10.
      for (let i = 0; i < 10 && !full; i++) {
        const response = await upload(roomId, await photo());
        if (response.statusCode === 201) {
          const body = response.json();
          accepted.push(...body.photos);
          position = body.position;
        } else {
          full = response;
        }
      }
      expect(full, 'the disk never filled up').toBeDefined();
      expect(full!.statusCode).toBe(507);
      expect(full!.json()).toEqual({ error: 'INSUFFICIENT_STORAGE', message: expect.any(String) });
      expect(full!.headers['retry-after']).toBe('60');
      expect(accepted.length).toBeGreaterThan(0);

      // What the write left: no temporary file, and each blob on disk is whole (named by the hash of its bytes).
      expect(filesOnDisk().filter((name) => name.endsWith('.tmp'))).toEqual([]);
      for (const url of accepted.flatMap((p) => [p.url, p.thumbnailUrl])) {
        const served = await t.app.inject({
          method: 'GET',
          url,
          headers: { ...owner(), 'x-min-position': position },
        });
        expect(served.statusCode).toBe(200);
        expect(`/api/photos/${sha256(served.rawPayload)}`).toBe(url);
      }
      // The refused upload appended nothing: the room lists exactly the photos answered 201.
      const room = await t.app.inject({
        method: 'GET',
        url: `/api/rooms/${roomId}`,
        headers: { ...owner(), 'x-min-position': position },
      });
      expect(room.json().photos.map((p: { url: string }) => p.url)).toEqual(accepted.map((p) => p.url));

      // Room again (support grows the volume): the same kind of upload is stored and served.
      execFileSync('mount', ['-o', 'remount,size=8m', filesDir]);
      const again = await upload(roomId, await photo());
      expect(again.statusCode).toBe(201);
      const [added] = again.json().photos;
      const served = await t.app.inject({
        method: 'GET',
        url: added.url,
        headers: { ...owner(), 'x-min-position': again.json().position },
      });
      expect(served.statusCode).toBe(200);
      expect(`/api/photos/${sha256(served.rawPayload)}`).toBe(added.url);
    });
  });
} else {
  rmSync(dataDir, { recursive: true, force: true });
  describe('the file store runs out of disk', () => {
    it.skip(`skipped: a tmpfs could not be mounted to fill (${mountError}); the test needs root, as CI has`, () => {});
  });
  console.warn(`[disk full] skipped: a tmpfs could not be mounted: ${mountError}`);
}
