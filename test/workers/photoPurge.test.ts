import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { roomsProjection } from '../../projections/rooms/roomsProjection.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { purgeUnreferencedFiles } from '../../workers/maintenance.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { publishedRoom } from '../support/flows.js';
import { multipartBody } from '../support/multipart.js';

let t: TestApp;
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'roomline-purge-'));
  t = await createTestApp({ config: { DATA_DIR: dataDir } });
});
afterAll(async () => {
  await t?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const jpeg = (seed: number) =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: { r: seed % 256, g: 90, b: 30 } } })
    .jpeg()
    .toBuffer();

/** A published room with two photos; the keys of the photos and thumbnails it shows. */
async function roomWithPhotos(seed: number): Promise<{ roomId: string; keys: string[]; position: string }> {
  const landlordId = randomUUID();
  const roomId = await publishedRoom(t, landlordId);
  const files = await Promise.all([jpeg(seed), jpeg(seed + 1)]);
  const body = multipartBody(files.map((content) => ({ filename: 'room.jpg', contentType: 'image/jpeg', content })));
  const response = await t.app.inject({
    method: 'POST',
    url: `/api/rooms/${roomId}/photos`,
    headers: { ...t.as('landlord', landlordId), ...body.headers },
    payload: body.payload,
  });
  expect(response.statusCode).toBe(201);
  const photos = response.json().photos as Array<{ url: string; thumbnailUrl: string }>;
  return {
    roomId,
    keys: photos.flatMap((photo) => [photo.url.slice(-64), photo.thumbnailUrl.slice(-64)]),
    position: response.json().position,
  };
}

const roomCount = async () => Number((await t.runtime.pool.query('SELECT count(*) AS n FROM rooms')).rows[0].n);

// Before the rebuild case, which stops the app's runner.
describe('the photo purge and message photos', () => {
  it('keeps a photo uploaded for a message, and its thumbnail, a day later', async () => {
    const body = multipartBody([{ filename: 'note.jpg', contentType: 'image/jpeg', content: await jpeg(42) }]);
    const uploaded = await t.app.inject({
      method: 'POST',
      url: '/api/messages/upload-photo',
      headers: { ...t.as('tenant', randomUUID()), ...body.headers },
      payload: body.payload,
    });
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const { photoId } = uploaded.json() as { photoId: string };
    const keys: string[] = [];
    for await (const event of t.runtime.eventStore.readStream(`MessagePhoto-${photoId}`)) {
      const data = event.data as { key: string; thumbnailKey: string };
      keys.push(data.key, data.thumbnailKey);
    }
    expect(keys).toHaveLength(2);
    const head = await t.runtime.eventStore.headPosition();
    const references = t.runtime.projections.find((p) => p.name === 'file-references')!;
    await waitForCheckpoint(t.runtime.pool, references, head, 10_000);
    const orphan = await t.runtime.fileStore.put(await jpeg(77), 'image/jpeg');
    await purgeUnreferencedFiles(
      { pool: t.runtime.pool, fileStore: t.runtime.fileStore, headPosition: () => t.runtime.eventStore.headPosition() },
      new Date(t.runtime.clock.now().getTime() + 25 * 3_600_000),
    );
    expect(await t.runtime.fileStore.exists(orphan.key)).toBe(false);
    for (const key of keys) expect({ key, kept: await t.runtime.fileStore.exists(key) }).toEqual({ key, kept: true });
  });
});

describe('the photo purge during a rebuild of the rooms read model', () => {
  it('deletes no photo an event refers to while rooms rebuilds beside its live rows (blue/green); every photo is served after', async () => {
    const rooms = [await roomWithPhotos(10), await roomWithPhotos(20)];
    const head = await t.runtime.eventStore.headPosition();
    for (const projection of t.runtime.projections.filter((p) => ['rooms', 'file-references'].includes(p.name))) {
      await waitForCheckpoint(t.runtime.pool, projection, head, 10_000);
    }
    const orphan = await t.runtime.fileStore.put(await jpeg(99), 'image/jpeg');
    await t.runner!.stop();

    // Version 2 of rooms: the runner replays into shadow tables while the live ones serve; its batches wait until released.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const rebuilding = {
      ...roomsProjection,
      version: roomsProjection.version + 1,
      async apply(em: EntityManager, events: readonly RecordedEvent[]) {
        await released;
        return roomsProjection.apply(em, events);
      },
    };
    const runner = new ProjectionRunner({
      orm: t.runtime.orm,
      store: t.runtime.eventStore,
      databaseUrl: t.db.url,
      projections: t.runtime.projections.map((p) => (p.name === 'rooms' ? rebuilding : p)),
      logger: t.runtime.logger,
      standbyRetryMs: 200,
    });
    await runner.start();
    try {
      const rebuildStatus = async () =>
        (
          await t.runtime.pool.query<{ status: string }>(
            "SELECT status FROM projection_rebuilds WHERE name = 'rooms' AND version = $1",
            [rebuilding.version],
          )
        ).rows[0]?.status;
      const deadline = Date.now() + 10_000;
      while ((await rebuildStatus()) !== 'running' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(await rebuildStatus()).toBe('running');
      expect(await roomCount()).toBe(rooms.length);

      const dayLater = new Date(t.runtime.clock.now().getTime() + 25 * 3_600_000);
      const deleted = await purgeUnreferencedFiles(
        {
          pool: t.runtime.pool,
          fileStore: t.runtime.fileStore,
          headPosition: () => t.runtime.eventStore.headPosition(),
        },
        dayLater,
      );
      // It did run: the file no event refers to is gone, and nothing else.
      expect(await t.runtime.fileStore.exists(orphan.key)).toBe(false);
      expect(deleted).toBe(1);
      expect(await rebuildStatus()).toBe('running');
      expect(await roomCount()).toBe(rooms.length);

      release();
      await waitForCheckpoint(t.runtime.pool, rebuilding, head, 10_000);
      for (const room of rooms) {
        for (const key of room.keys) {
          const served = await t.app.inject({ method: 'GET', url: `/api/photos/${key}` });
          expect({ key, status: served.statusCode }).toEqual({ key, status: 200 });
        }
      }
    } finally {
      release();
      await runner.stop();
    }
  });
});
