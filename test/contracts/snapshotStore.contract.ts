import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotStore } from '../../infra/snapshots/snapshotStore.js';

export interface SnapshotStoreHarness {
  store: SnapshotStore;
  /** Another client of the same storage (another process, as far as the adapter can tell). */
  openAnother(): Promise<SnapshotStore>;
  cleanup(): Promise<void>;
}

/** The one suite every snapshot store adapter must pass. */
export function snapshotStoreContract(adapter: string, open: () => Promise<SnapshotStoreHarness>): void {
  describe(`snapshot store contract: ${adapter}`, () => {
    let harness: SnapshotStoreHarness;
    let store: SnapshotStore;
    beforeAll(async () => {
      harness = await open();
      store = harness.store;
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    it('has nothing for a stream never snapshotted', async () => {
      expect(await store.read(`RoomCalendar-${randomUUID()}`)).toBeNull();
    });

    it('gives back what it kept, to another client too, with revisions past 2^53', async () => {
      const streamId = `RoomCalendar-${randomUUID()}`;
      const state = {
        held: { '2027-01-01': { bookingId: randomUUID(), expiresAt: null } },
        text: 'ünï «ç» 🏠 \' " \\',
      };
      await store.write({ streamId, revision: 2n ** 60n + 1n, version: 3, state });
      const other = await harness.openAnother();
      for (const reader of [store, other]) {
        expect(await reader.read(streamId)).toEqual({ streamId, revision: 2n ** 60n + 1n, version: 3, state });
      }
    });

    it('keeps the newest of the same version: an older or equal revision written late changes nothing', async () => {
      const streamId = `RoomCalendar-${randomUUID()}`;
      await store.write({ streamId, revision: 200n, version: 1, state: { at: 200 } });
      await store.write({ streamId, revision: 100n, version: 1, state: { at: 100 } });
      await store.write({ streamId, revision: 200n, version: 1, state: { at: 'again' } });
      expect(await store.read(streamId)).toMatchObject({ revision: 200n, state: { at: 200 } });
      await store.write({ streamId, revision: 300n, version: 1, state: { at: 300 } });
      expect(await store.read(streamId)).toMatchObject({ revision: 300n, state: { at: 300 } });
    });

    it('lets a snapshot of another version replace the stored one, even at an older revision', async () => {
      const streamId = `RoomCalendar-${randomUUID()}`;
      await store.write({ streamId, revision: 500n, version: 1, state: { v: 1 } });
      await store.write({ streamId, revision: 120n, version: 2, state: { v: 2 } });
      expect(await store.read(streamId)).toEqual({ streamId, revision: 120n, version: 2, state: { v: 2 } });
    });

    it('keeps one snapshot per stream under concurrent writers: the highest revision wins', async () => {
      const streamId = `RoomCalendar-${randomUUID()}`;
      const other = await harness.openAnother();
      const revisions = Array.from({ length: 30 }, (_, i) => BigInt((i * 7919) % 30) * 10n);
      await Promise.all(
        revisions.map((revision, i) =>
          (i % 2 ? other : store).write({ streamId, revision, version: 1, state: { revision: Number(revision) } }),
        ),
      );
      expect(await store.read(streamId)).toMatchObject({ revision: 290n, state: { revision: 290 } });
    });

    it('forgets by stream prefix, taking the prefix literally (no pattern characters)', async () => {
      const tag = randomUUID();
      const kept = `Other-${tag}`;
      const literal = `Room%_\\${tag}`;
      await store.write({ streamId: `RoomCalendar-${tag}-a`, revision: 1n, version: 1, state: {} });
      await store.write({ streamId: `RoomCalendar-${tag}-b`, revision: 1n, version: 1, state: {} });
      await store.write({ streamId: kept, revision: 1n, version: 1, state: {} });
      await store.write({ streamId: `RoomXY${tag}`, revision: 1n, version: 1, state: {} });
      await store.write({ streamId: `${literal}-c`, revision: 1n, version: 1, state: {} });
      expect(await store.forget(`RoomCalendar-${tag}`)).toBe(2);
      expect(await store.read(`RoomCalendar-${tag}-a`)).toBeNull();
      expect(await store.read(kept)).not.toBeNull();
      expect(await store.forget(literal)).toBe(1);
      expect(await store.forget('Room%')).toBe(0);
      expect(await store.forget('Room_')).toBe(0);
      expect(await store.read(`RoomXY${tag}`)).not.toBeNull();
    });
  });
}
