import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeUnreferencedFiles } from '../../workers/maintenance.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { type MultipartFile, multipartBody } from '../support/multipart.js';

let t: TestApp;
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'roomline-photos-'));
  t = await createTestApp({ config: { DATA_DIR: dataDir } });
});
afterAll(async () => {
  await t?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A real image: a colour gradient with some noise, so each seed gives other bytes. */
async function image(format: 'jpeg' | 'png', width = 800, height = 600, seed = Math.random()): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i += 3) {
    const x = (i / 3) % width;
    pixels[i] = (x * 255) / width;
    pixels[i + 1] = (seed * 255 + i) % 256;
    pixels[i + 2] = Math.floor(Math.random() * 40);
  }
  const raw = sharp(pixels, { raw: { width, height, channels: 3 } });
  return format === 'jpeg' ? raw.jpeg({ quality: 85 }).toBuffer() : raw.png().toBuffer();
}

const jpegFile = (content: Buffer, overrides: Partial<MultipartFile> = {}): MultipartFile => ({
  filename: 'room.jpg',
  contentType: 'image/jpeg',
  content,
  ...overrides,
});

async function createRoom(landlordId: string): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/rooms',
    headers: t.as('landlord', landlordId),
    payload: roomBody(),
  });
  expect(response.statusCode).toBe(201);
  return response.json().id;
}

function upload(roomId: string, files: MultipartFile[], headers: Record<string, string>) {
  const body = multipartBody(files);
  return t.app.inject({
    method: 'POST',
    url: `/api/rooms/${roomId}/photos`,
    headers: { ...headers, ...body.headers },
    payload: body.payload,
  });
}

async function getRoom(roomId: string, landlordId: string, position?: string) {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/rooms/${roomId}`,
    headers: { ...t.as('landlord', landlordId), ...(position ? { 'x-min-position': position } : {}) },
  });
  expect(response.statusCode).toBe(200);
  return response.json();
}

/** Publishes the room; its position, for X-Min-Position. */
async function publishRoom(roomId: string, landlordId: string): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: `/api/rooms/${roomId}/publish`,
    headers: t.as('landlord', landlordId),
  });
  expect(response.statusCode).toBe(200);
  return response.json().position;
}

/** A stored file as the landlord of its room sees it, once the read model has `position`. */
function getAsOwner(url: string, landlordId: string, position: string) {
  return t.app.inject({
    method: 'GET',
    url,
    headers: { ...t.as('landlord', landlordId), 'x-min-position': position },
  });
}

const photoUrl = expect.stringMatching(/^\/api\/photos\/[0-9a-f]{64}$/);

async function storedBlobs(): Promise<number> {
  const entries = await readdir(join(dataDir, 'files'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name)).length;
}

describe('POST /api/rooms/{id}/photos', () => {
  const landlordId = randomUUID();
  const owner = () => t.as('landlord', landlordId);

  it('stores a JPEG and a PNG, answers 201 with their links, and GET room lists them', async () => {
    const roomId = await createRoom(landlordId);
    const jpeg = await image('jpeg', 1200, 800);
    const png = await image('png', 600, 400);
    const response = await upload(
      roomId,
      [jpegFile(jpeg), { filename: 'plan.png', contentType: 'image/png', content: png }],
      owner(),
    );
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body.position).toMatch(/^\d+$/);
    expect(body.photos).toEqual([
      { id: expect.any(String), url: photoUrl, thumbnailUrl: photoUrl },
      { id: expect.any(String), url: photoUrl, thumbnailUrl: photoUrl },
    ]);
    expect(body.photos[0].id).not.toBe(body.photos[1].id);
    for (const [photo, format] of [
      [body.photos[0], 'jpeg'],
      [body.photos[1], 'png'],
    ] as const) {
      const served = await getAsOwner(photo.url, landlordId, body.position);
      expect(served.statusCode).toBe(200);
      expect(photo.url).toBe(`/api/photos/${sha256(served.rawPayload)}`);
      expect(await sharp(served.rawPayload).metadata()).toMatchObject({ format });
    }

    const room = await getRoom(roomId, landlordId, body.position);
    expect(room.photos).toEqual(body.photos);
  });

  it("serves a published room's photo as stored, under the hash of its bytes, cacheable forever, with 304 on If-None-Match", async () => {
    const roomId = await createRoom(landlordId);
    const jpeg = await image('jpeg', 1000, 750);
    const { photos } = (await upload(roomId, [jpegFile(jpeg)], owner())).json();
    const key = photos[0].url.slice(-64);
    const position = await publishRoom(roomId, landlordId);

    const response = await t.app.inject({ method: 'GET', url: photos[0].url, headers: { 'x-min-position': position } });
    expect(response.statusCode).toBe(200);
    expect(sha256(response.rawPayload)).toBe(key);
    expect(response.headers['content-type']).toBe('image/jpeg');
    expect(response.headers['content-length']).toBe(String(response.rawPayload.length));
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(response.headers.etag).toBe(`"${key}"`);

    const again = await t.app.inject({ method: 'GET', url: photos[0].url, headers: { 'if-none-match': `"${key}"` } });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    expect(again.headers.etag).toBe(`"${key}"`);
    const stale = await t.app.inject({
      method: 'GET',
      url: photos[0].url,
      headers: { 'if-none-match': `"${'0'.repeat(64)}"` },
    });
    expect(stale.statusCode).toBe(200);
  });

  it('makes a WebP thumbnail 400 px wide, kept in proportion', async () => {
    const roomId = await createRoom(landlordId);
    const { photos } = (await upload(roomId, [jpegFile(await image('jpeg', 1200, 800))], owner())).json();
    const position = await publishRoom(roomId, landlordId);
    const response = await t.app.inject({
      method: 'GET',
      url: photos[0].thumbnailUrl,
      headers: { 'x-min-position': position },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/webp');
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const metadata = await sharp(response.rawPayload).metadata();
    expect(metadata).toMatchObject({ format: 'webp', width: 400, height: 267 });
    expect(photos[0].thumbnailUrl).toBe(`/api/photos/${sha256(response.rawPayload)}`);
  });

  it('judges by content: a PNG declared as image/jpeg is stored and served as PNG', async () => {
    const roomId = await createRoom(landlordId);
    const png = await image('png', 300, 200);
    const response = await upload(roomId, [jpegFile(png, { filename: 'actually.jpg' })], owner());
    expect(response.statusCode).toBe(201);
    const { photos, position } = response.json();
    const served = await getAsOwner(photos[0].url, landlordId, position);
    expect(served.headers['content-type']).toBe('image/png');
    expect((await sharp(served.rawPayload).metadata()).format).toBe('png');
  });

  it('accepts an image just under 5 MB', async () => {
    const roomId = await createRoom(landlordId);
    const noise = await sharp(randomBytes(1280 * 1280 * 3), { raw: { width: 1280, height: 1280, channels: 3 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    expect(noise.length).toBeGreaterThan(4.5 * 1024 * 1024);
    expect(noise.length).toBeLessThanOrEqual(5 * 1024 * 1024);
    const response = await upload(
      roomId,
      [{ filename: 'noise.png', contentType: 'image/png', content: noise }],
      owner(),
    );
    expect(response.statusCode).toBe(201);
    const { photos, position } = response.json();
    const served = await getAsOwner(photos[0].url, landlordId, position);
    expect(served.statusCode).toBe(200);
    expect(photos[0].url).toBe(`/api/photos/${sha256(served.rawPayload)}`);
    const stored = await sharp(served.rawPayload).raw().toBuffer();
    // PNG is lossless: re-encoding it without its metadata keeps every pixel.
    expect(stored.equals(await sharp(noise).raw().toBuffer())).toBe(true);
  });

  it('adds the same image once: a repeated upload answers 201 with the same photo and appends nothing', async () => {
    const roomId = await createRoom(landlordId);
    const jpeg = await image('jpeg', 400, 300);
    const first = (await upload(roomId, [jpegFile(jpeg)], owner())).json();
    const second = await upload(roomId, [jpegFile(jpeg), jpegFile(jpeg)], owner());
    expect(second.statusCode).toBe(201);
    expect(second.json()).toMatchObject({ photos: first.photos, position: null });
    expect((await getRoom(roomId, landlordId, first.position)).photos).toEqual(first.photos);
  });

  describe('refuses bad input with 4xx, never 500, and stores nothing', () => {
    let roomId: string;
    beforeAll(async () => {
      roomId = await createRoom(landlordId);
    });

    it.each([
      ['a text file declared image/jpeg', async () => jpegFile(Buffer.from('this is not an image at all\n'))],
      ['a truncated JPEG', async () => jpegFile((await image('jpeg', 800, 600)).subarray(0, 6000))],
      [
        'a truncated PNG',
        async () => jpegFile((await image('png', 800, 600)).subarray(0, 6000), { contentType: 'image/png' }),
      ],
      [
        'JPEG magic bytes and then garbage',
        async () => jpegFile(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(5000)])),
      ],
      [
        'a GIF',
        async () =>
          jpegFile(
            await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } })
              .gif()
              .toBuffer(),
          ),
      ],
      ['an empty file', async () => jpegFile(Buffer.alloc(0))],
    ])('415 for %s', async (_name, file) => {
      const before = await storedBlobs();
      const good = jpegFile(await image('jpeg', 200, 150));
      const response = await upload(roomId, [good, await file()], owner());
      expect(response.statusCode).toBe(415);
      expect(response.json()).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) });
      expect(await storedBlobs()).toBe(before);
    });

    it('413 for a file of 5 MB and 1 byte', async () => {
      const big = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), randomBytes(5 * 1024 * 1024 - 2)]);
      expect(big.length).toBe(5 * 1024 * 1024 + 1);
      const response = await upload(roomId, [jpegFile(big)], owner());
      expect(response.statusCode).toBe(413);
      expect(response.json()).toEqual({
        error: 'PAYLOAD_TOO_LARGE',
        message: expect.any(String),
        details: { maxFileBytes: 5 * 1024 * 1024, maxFiles: 10 },
      });
    });

    it('413 for 11 files in one request, 201 for 10', async () => {
      const files = await Promise.all(Array.from({ length: 11 }, () => image('png', 16, 16)));
      const eleven = await upload(
        roomId,
        files.map((content) => jpegFile(content)),
        owner(),
      );
      expect(eleven.statusCode).toBe(413);
      expect(eleven.json().error).toBe('PAYLOAD_TOO_LARGE');
      const ten = await upload(
        roomId,
        files.slice(0, 10).map((content) => jpegFile(content)),
        owner(),
      );
      expect(ten.statusCode).toBe(201);
      expect(ten.json().photos).toHaveLength(10);
    });

    it('400 for a multipart body without files, and for one that cannot be parsed', async () => {
      const fieldsOnly = multipartBody([], { caption: 'no files here' });
      const empty = await t.app.inject({
        method: 'POST',
        url: `/api/rooms/${roomId}/photos`,
        headers: { ...owner(), ...fieldsOnly.headers },
        payload: fieldsOnly.payload,
      });
      expect(empty.statusCode).toBe(400);
      expect(empty.json().error).toBe('NO_PHOTOS');
      for (const [contentType, payload] of [
        ['multipart/form-data', 'no boundary at all'],
        [
          'multipart/form-data; boundary=xyz',
          '--xyz\r\nContent-Disposition: form-data; name="p"; filename="a.jpg"\r\n\r\n\xff\xd8',
        ],
      ]) {
        const response = await t.app.inject({
          method: 'POST',
          url: `/api/rooms/${roomId}/photos`,
          headers: { ...owner(), 'content-type': contentType! },
          payload,
        });
        expect(response.statusCode, contentType).toBe(400);
        expect(response.json().error, contentType).toBe('MALFORMED_MULTIPART');
      }
    });

    it('415 for a request that is not multipart', async () => {
      const json = await t.app.inject({
        method: 'POST',
        url: `/api/rooms/${roomId}/photos`,
        headers: owner(),
        payload: { photos: ['https://example.test/a.jpg'] },
      });
      expect(json.statusCode).toBe(415);
      expect(json.json().error).toBe('UNSUPPORTED_MEDIA_TYPE');
      const raw = await t.app.inject({
        method: 'POST',
        url: `/api/rooms/${roomId}/photos`,
        headers: { ...owner(), 'content-type': 'image/jpeg' },
        payload: await image('jpeg', 50, 50),
      });
      expect(raw.statusCode).toBe(415);
      expect(raw.json().error).toBe('UNSUPPORTED_MEDIA_TYPE');
    });
  });

  it('refuses a 31st photo with 422 TOO_MANY_PHOTOS', async () => {
    const roomId = await createRoom(landlordId);
    const batch = () => Promise.all(Array.from({ length: 10 }, () => image('png', 16, 16).then((c) => jpegFile(c))));
    for (let i = 0; i < 3; i++) expect((await upload(roomId, await batch(), owner())).statusCode).toBe(201);
    const before = await storedBlobs();
    const response = await upload(roomId, [jpegFile(await image('jpeg', 64, 64))], owner());
    expect(response.statusCode).toBe(422);
    expect(response.json().error).toBe('TOO_MANY_PHOTOS');
    expect(await storedBlobs()).toBe(before);
  });

  it('403 for another landlord and for a tenant, 404 for an unknown room; an admin may add', async () => {
    const roomId = await createRoom(landlordId);
    const jpeg = await image('jpeg', 120, 90);
    const stranger = await upload(roomId, [jpegFile(jpeg)], t.as('landlord'));
    expect(stranger.statusCode).toBe(403);
    expect(stranger.json().error).toBe('NOT_ROOM_OWNER');
    const tenant = await upload(roomId, [jpegFile(jpeg)], t.as('tenant'));
    expect(tenant.statusCode).toBe(403);
    expect(tenant.json().error).toBe('FORBIDDEN');
    const anonymous = await upload(roomId, [jpegFile(jpeg)], {});
    expect(anonymous.statusCode).toBe(401);
    const missing = await upload(randomUUID(), [jpegFile(jpeg)], owner());
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toBe('ROOM_NOT_FOUND');
    expect(await t.app.inject({ method: 'GET', url: `/api/photos/${sha256(jpeg)}` })).toHaveProperty('statusCode', 404);
    const admin = await upload(roomId, [jpegFile(jpeg)], t.as('admin'));
    expect(admin.statusCode).toBe(201);
  });
});

describe('DELETE /api/rooms/{id}/photos/{photoId}', () => {
  it('removes the photo from the room; a second delete changes nothing', async () => {
    const landlordId = randomUUID();
    const roomId = await createRoom(landlordId);
    const added = (
      await upload(
        roomId,
        [jpegFile(await image('jpeg', 200, 100)), jpegFile(await image('jpeg', 100, 200))],
        t.as('landlord', landlordId),
      )
    ).json();
    const url = `/api/rooms/${roomId}/photos/${added.photos[0].id}`;
    const stranger = await t.app.inject({ method: 'DELETE', url, headers: t.as('landlord') });
    expect(stranger.statusCode).toBe(403);
    const response = await t.app.inject({ method: 'DELETE', url, headers: t.as('landlord', landlordId) });
    expect(response.statusCode).toBe(200);
    expect(response.json().position).toMatch(/^\d+$/);
    expect((await getRoom(roomId, landlordId, response.json().position)).photos).toEqual([added.photos[1]]);
    const again = await t.app.inject({ method: 'DELETE', url, headers: t.as('landlord', landlordId) });
    expect(again.statusCode).toBe(200);
    expect(again.json().position).toBeNull();
  });
});

describe('clean-up of files nothing refers to', () => {
  it('deletes a removed photo and its thumbnail a day after upload, and keeps the photos rooms show', async () => {
    const landlordId = randomUUID();
    const roomId = await createRoom(landlordId);
    const added = (
      await upload(
        roomId,
        [jpegFile(await image('jpeg', 220, 110)), jpegFile(await image('jpeg', 110, 220))],
        t.as('landlord', landlordId),
      )
    ).json();
    const [removed, kept] = added.photos as Array<{ id: string; url: string; thumbnailUrl: string }>;
    const response = await t.app.inject({
      method: 'DELETE',
      url: `/api/rooms/${roomId}/photos/${removed!.id}`,
      headers: t.as('landlord', landlordId),
    });
    await getRoom(roomId, landlordId, response.json().position);
    const keyOf = (url: string) => url.slice(-64);
    const exists = (url: string) => t.runtime.fileStore.exists(keyOf(url));
    const deps = { pool: t.runtime.pool, fileStore: t.runtime.fileStore };
    // The grace period counts from when the file store stored the file (its own clock, the file's time).
    let storedAt = 0;
    for await (const file of t.runtime.fileStore.list()) {
      if (file.key === keyOf(removed!.url)) storedAt = file.storedAt.getTime();
    }
    expect(storedAt).toBeGreaterThan(0);
    // Within the grace period nothing goes: the event of a fresh upload may not have reached the read model.
    await purgeUnreferencedFiles(deps, new Date(storedAt + 60_000));
    expect(await exists(removed!.url)).toBe(true);
    const deleted = await purgeUnreferencedFiles(deps, new Date(storedAt + 25 * 3_600_000));
    expect(deleted).toBeGreaterThanOrEqual(2);
    expect([await exists(removed!.url), await exists(removed!.thumbnailUrl)]).toEqual([false, false]);
    expect([await exists(kept!.url), await exists(kept!.thumbnailUrl)]).toEqual([true, true]);
    const served = await getAsOwner(kept!.url, landlordId, response.json().position);
    expect(served.statusCode).toBe(200);
  });
});

describe('GET /api/photos/{key}', () => {
  it('404 for an unknown key, not cached; 400 for something that is not a key', async () => {
    const unknown = await t.app.inject({ method: 'GET', url: `/api/photos/${sha256(randomBytes(8))}` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('PHOTO_NOT_FOUND');
    expect(unknown.headers['cache-control'] ?? '').not.toMatch(/immutable/);
    const unknownRevalidated = await t.app.inject({
      method: 'GET',
      url: `/api/photos/${'a'.repeat(64)}`,
      headers: { 'if-none-match': `"${'a'.repeat(64)}"` },
    });
    expect(unknownRevalidated.statusCode).toBe(404);
    for (const notAKey of ['abc', 'A'.repeat(64), `${'a'.repeat(63)}g`, '..%2F..%2Fetc%2Fpasswd']) {
      const response = await t.app.inject({ method: 'GET', url: `/api/photos/${notAKey}` });
      expect(response.statusCode, notAKey).toBe(400);
    }
  });
});

/** A JPEG as a phone writes it: landscape pixels, EXIF with camera and GPS tags, and "rotate 90° clockwise". */
async function phoneJpeg(width = 300, height = 200): Promise<Buffer> {
  // The top-left quarter red, the rest blue: after the rotation the red corner must be top right.
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const red = x < width / 2 && y < height / 2;
      pixels.set(red ? [230, 20, 20] : [20, 20, 230], (y * width + x) * 3);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .withExif({
      IFD0: { Make: 'Roomline Test Phone', Model: 'RT-1', Copyright: 'someone' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '44/1 29/1 4164/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '11/1 20/1 3336/100',
      },
    })
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe('metadata of stored photos', () => {
  it('strips EXIF and GPS from the stored original after applying its orientation; the key is the hash of what is stored', async () => {
    const landlordId = randomUUID();
    const roomId = await createRoom(landlordId);
    const sent = await phoneJpeg();
    const before = await sharp(sent).metadata();
    expect(before).toMatchObject({ orientation: 6, width: 300, height: 200 });
    expect(before.exif?.toString('latin1')).toContain('Roomline Test Phone');

    const response = await upload(roomId, [jpegFile(sent)], t.as('landlord', landlordId));
    expect(response.statusCode).toBe(201);
    const { photos, position } = response.json();
    const served = await t.app.inject({
      method: 'GET',
      url: photos[0].url,
      headers: { ...t.as('landlord', landlordId), 'x-min-position': position },
    });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/jpeg');
    const stored = served.rawPayload;
    expect(photos[0].url).toBe(`/api/photos/${sha256(stored)}`);
    expect(stored.equals(sent)).toBe(false);
    const metadata = await sharp(stored).metadata();
    expect(metadata.format).toBe('jpeg');
    expect(metadata.exif).toBeUndefined();
    expect(metadata.xmp).toBeUndefined();
    expect(metadata.iptc).toBeUndefined();
    expect(metadata.orientation).toBeUndefined();
    expect(stored.includes(Buffer.from('Roomline Test Phone'))).toBe(false);
    expect(stored.includes(Buffer.from('Exif\0'))).toBe(false);
    // The pixels were turned: portrait now, and the red corner went from top left to top right.
    expect([metadata.width, metadata.height]).toEqual([200, 300]);
    const { data, info } = await sharp(stored).raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    const isRed = ([r, , b]: number[]) => r! > 150 && b! < 100;
    expect(isRed(pixel(180, 20))).toBe(true);
    expect(isRed(pixel(20, 20))).toBe(false);
    expect(isRed(pixel(180, 280))).toBe(false);

    const thumbnail = await t.app.inject({
      method: 'GET',
      url: photos[0].thumbnailUrl,
      headers: t.as('landlord', landlordId),
    });
    const thumbnailMetadata = await sharp(thumbnail.rawPayload).metadata();
    expect(thumbnailMetadata.exif).toBeUndefined();
    expect([thumbnailMetadata.width, thumbnailMetadata.height]).toEqual([200, 300]);
  });

  it('stores a PNG as PNG without its text chunks', async () => {
    const landlordId = randomUUID();
    const roomId = await createRoom(landlordId);
    const sent = await sharp(await image('png', 120, 80))
      .withExif({ IFD0: { Make: 'Roomline Test Scanner' } })
      .png()
      .toBuffer();
    expect((await sharp(sent).metadata()).exif).toBeDefined();
    const { photos, position } = (
      await upload(roomId, [jpegFile(sent, { filename: 'plan.png' })], t.as('admin'))
    ).json();
    const served = await t.app.inject({
      method: 'GET',
      url: photos[0].url,
      headers: { ...t.as('admin'), 'x-min-position': position },
    });
    expect(served.headers['content-type']).toBe('image/png');
    const metadata = await sharp(served.rawPayload).metadata();
    expect(metadata).toMatchObject({ format: 'png', width: 120, height: 80 });
    expect(metadata.exif).toBeUndefined();
    expect(photos[0].url).toBe(`/api/photos/${sha256(served.rawPayload)}`);
  });
});

describe('who may see the photos of a room that is not published', () => {
  it('draft: 404 to anonymous and other landlords, 200 private to the owner and admins; published: public; unpublished: 404 again', async () => {
    const landlordId = randomUUID();
    const owner = t.as('landlord', landlordId);
    const roomId = await createRoom(landlordId);
    const added = (await upload(roomId, [jpegFile(await image('jpeg', 640, 480))], owner)).json();
    const { url, thumbnailUrl } = added.photos[0] as { url: string; thumbnailUrl: string };
    let position: string = added.position;

    const get = (path: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'GET', url: path, headers: { 'x-min-position': position, ...headers } });
    const expectHidden = async (path: string, headers: Record<string, string> = {}) => {
      const response = await get(path, headers);
      expect(response.statusCode, path).toBe(404);
      expect(response.json().error).toBe('PHOTO_NOT_FOUND');
      expect(response.headers['cache-control'] ?? '').not.toMatch(/public|immutable/);
      // Revalidation must not tell a stranger either that the key exists.
      const revalidated = await get(path, { ...headers, 'if-none-match': `"${path.slice(-64)}"` });
      expect(revalidated.statusCode, path).toBe(404);
    };
    const expectPrivate = async (path: string, headers: Record<string, string>) => {
      const response = await get(path, headers);
      expect(response.statusCode, path).toBe(200);
      expect(response.headers['cache-control']).toMatch(/^private\b/);
      expect(response.headers['cache-control']).not.toMatch(/public|immutable/);
      expect(String(response.headers.vary ?? '')).toMatch(/authorization/i);
      const revalidated = await get(path, { ...headers, 'if-none-match': `"${path.slice(-64)}"` });
      expect(revalidated.statusCode, path).toBe(304);
      expect(revalidated.headers['cache-control']).toMatch(/^private\b/);
    };
    const expectPublic = async (path: string) => {
      const response = await get(path);
      expect(response.statusCode, path).toBe(200);
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    };

    for (const path of [url, thumbnailUrl]) {
      await expectHidden(path);
      await expectHidden(path, t.as('landlord'));
      await expectHidden(path, t.as('tenant'));
      await expectPrivate(path, owner);
      await expectPrivate(path, t.as('admin'));
    }

    const publish = async (action: 'publish' | 'unpublish') => {
      const response = await t.app.inject({ method: 'POST', url: `/api/rooms/${roomId}/${action}`, headers: owner });
      expect(response.statusCode, action).toBe(200);
      position = response.json().position;
    };
    await publish('publish');
    for (const path of [url, thumbnailUrl]) {
      await expectPublic(path);
      expect((await get(path, t.as('landlord'))).statusCode).toBe(200);
    }

    await publish('unpublish');
    for (const path of [url, thumbnailUrl]) {
      await expectHidden(path);
      await expectHidden(path, t.as('landlord'));
      await expectPrivate(path, owner);
    }
  });

  it('a photo shown by a published room and by a draft is public', async () => {
    const landlordId = randomUUID();
    const owner = t.as('landlord', landlordId);
    const jpeg = await image('jpeg', 320, 240);
    const draft = await createRoom(landlordId);
    const published = await createRoom(landlordId);
    await upload(draft, [jpegFile(jpeg)], owner);
    const { photos } = (await upload(published, [jpegFile(jpeg)], owner)).json();
    const response = await t.app.inject({ method: 'POST', url: `/api/rooms/${published}/publish`, headers: owner });
    const served = await t.app.inject({
      method: 'GET',
      url: photos[0].url,
      headers: { 'x-min-position': response.json().position },
    });
    expect(served.statusCode).toBe(200);
    expect(served.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('a removed photo is served to nobody, though its file stays until the clean-up', async () => {
    const landlordId = randomUUID();
    const owner = t.as('landlord', landlordId);
    const roomId = await createRoom(landlordId);
    const { photos } = (await upload(roomId, [jpegFile(await image('jpeg', 200, 200))], owner)).json();
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/rooms/${roomId}/photos/${photos[0].id}`,
      headers: owner,
    });
    const position = removed.json().position;
    expect(await t.runtime.fileStore.exists(photos[0].url.slice(-64))).toBe(true);
    for (const headers of [{}, owner, t.as('admin')]) {
      const served = await t.app.inject({
        method: 'GET',
        url: photos[0].url,
        headers: { ...headers, 'x-min-position': position },
      });
      expect(served.statusCode).toBe(404);
    }
  });
});
