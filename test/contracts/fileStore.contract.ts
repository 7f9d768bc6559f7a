import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileStore } from '../../infra/fileStore/fileStore.js';

export interface FileStoreHarness {
  store: FileStore;
  /** Another client of the same storage (another process, as far as the adapter can tell). */
  openAnother(): Promise<FileStore>;
  /** How many copies of the blob the storage holds, where the adapter can tell (0 or 1 expected). */
  copiesOf?(key: string): Promise<number>;
  cleanup(): Promise<void>;
}

export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The one suite every file store adapter must pass. */
export function fileStoreContract(adapter: string, open: () => Promise<FileStoreHarness>): void {
  describe(`file store contract: ${adapter}`, () => {
    let harness: FileStoreHarness;
    let store: FileStore;

    beforeAll(async () => {
      harness = await open();
      store = harness.store;
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    it('names a blob by the SHA-256 of its bytes and reports its size', async () => {
      const bytes = randomBytes(1000);
      const stored = await store.put(bytes, 'image/png');
      expect(stored).toEqual({ key: sha256(bytes), size: 1000 });
      expect(await store.exists(stored.key)).toBe(true);
    });

    it('is idempotent: the same bytes give the same key and one copy', async () => {
      const bytes = randomBytes(4096);
      const first = await store.put(bytes, 'image/jpeg');
      const second = await store.put(Buffer.from(bytes), 'image/jpeg');
      expect(second).toEqual(first);
      if (harness.copiesOf) expect(await harness.copiesOf(first.key)).toBe(1);
    });

    it('gives the bytes back exactly, with their content type and size', async () => {
      const bytes = Buffer.concat([Buffer.from([0, 255, 0x0d, 0x0a, 0x1a]), randomBytes(300_000)]);
      const { key } = await store.put(bytes, 'image/webp');
      const content = await store.get(key);
      expect(content).not.toBeNull();
      expect(content!.contentType).toBe('image/webp');
      expect(content!.size).toBe(bytes.length);
      const read = await readAll(content!.body);
      expect(read.equals(bytes)).toBe(true);
    });

    it('keeps the content type of the first put', async () => {
      const bytes = randomBytes(64);
      const { key } = await store.put(bytes, 'image/png');
      await store.put(bytes, 'application/octet-stream');
      const content = await store.get(key);
      await readAll(content!.body);
      expect(content!.contentType).toBe('image/png');
    });

    it('stores an empty blob', async () => {
      const { key, size } = await store.put(new Uint8Array(0), 'text/plain');
      expect(key).toBe(sha256(new Uint8Array(0)));
      expect(size).toBe(0);
      const content = await store.get(key);
      expect((await readAll(content!.body)).length).toBe(0);
    });

    it('answers null and false for an unknown key, and for anything that is not a key', async () => {
      const unknown = sha256(randomBytes(16));
      expect(await store.get(unknown)).toBeNull();
      expect(await store.exists(unknown)).toBe(false);
      for (const notAKey of ['', '../../etc/passwd', unknown.toUpperCase(), `${unknown}0`, `../${unknown.slice(3)}`]) {
        expect(await store.get(notAKey)).toBeNull();
        expect(await store.exists(notAKey)).toBe(false);
      }
    });

    it('takes concurrent puts of the same bytes: one key, one copy, intact bytes', async () => {
      const bytes = randomBytes(2_000_000);
      const other = await harness.openAnother();
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? store : other).put(bytes, 'image/jpeg')),
      );
      expect(new Set(results.map((r) => r.key))).toEqual(new Set([sha256(bytes)]));
      const content = await other.get(results[0]!.key);
      expect((await readAll(content!.body)).equals(bytes)).toBe(true);
      expect(content!.contentType).toBe('image/jpeg');
      if (harness.copiesOf) expect(await harness.copiesOf(results[0]!.key)).toBe(1);
    });

    it('lists what it holds with when it was stored, and deletes a blob for good (then takes it again)', async () => {
      const bytes = randomBytes(300);
      const before = Date.now();
      const { key } = await store.put(bytes, 'image/jpeg');
      const listed = [];
      for await (const file of store.list()) listed.push(file);
      const entry = listed.find((file) => file.key === key);
      expect(entry).toBeDefined();
      expect(entry!.storedAt.getTime()).toBeGreaterThanOrEqual(before - 2_000);
      expect(listed.every((file) => /^[0-9a-f]{64}$/.test(file.key))).toBe(true);
      await store.delete(key);
      await store.delete(key);
      await store.delete('not-a-key');
      expect(await store.exists(key)).toBe(false);
      expect(await store.get(key)).toBeNull();
      const keys = [];
      for await (const file of store.list()) keys.push(file.key);
      expect(keys).not.toContain(key);
      await store.put(bytes, 'image/jpeg');
      const again = await store.get(key);
      expect(again?.contentType).toBe('image/jpeg');
      expect((await readAll(again!.body)).equals(bytes)).toBe(true);
    });

    it('sees a blob put by another client', async () => {
      const bytes = randomBytes(128);
      const other = await harness.openAnother();
      const { key } = await other.put(bytes, 'image/png');
      expect(await store.exists(key)).toBe(true);
      expect((await readAll((await store.get(key))!.body)).equals(bytes)).toBe(true);
    });
  });
}
