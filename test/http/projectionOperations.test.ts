import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { type PgProjection, rebuildsBeside } from '../../projections/projection.js';
import { roomsProjection } from '../../projections/rooms/roomsProjection.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { newEvent } from '../support/builders/events.js';
import { roomCreated } from '../support/builders/rooms.js';
import { waitFor } from '../workers/support.js';

/** Rooms appended straight to the store, each created and then retitled `updates` times. */
async function appendRooms(t: TestApp, count: number, updates = 1): Promise<string[]> {
  const landlordId = randomUUID();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const roomId = randomUUID();
    ids.push(roomId);
    await t.runtime.eventStore.append(
      `Room-${roomId}`,
      [
        newEvent('RoomCreated', roomCreated(roomId, landlordId).data, landlordId),
        ...Array.from({ length: updates }, (_, u) =>
          newEvent('RoomUpdated', { roomId, changes: { title: `room ${i} take ${u}` } }, landlordId),
        ),
      ],
      { expectedRevision: 'no_stream' },
    );
  }
  return ids;
}

const checkpointOf = async (t: TestApp, name: string) =>
  BigInt(
    (await t.runtime.pool.query('SELECT position FROM projection_checkpoints WHERE name = $1', [name])).rows[0]
      ?.position ?? -1,
  );

async function caughtUp(t: TestApp, name: string): Promise<void> {
  const head = await t.runtime.eventStore.headPosition();
  await waitFor(`${name} at the head`, async () => (await checkpointOf(t, name)) >= head, 30_000);
}

const statusOf = async (t: TestApp, name: string) => {
  const response = await t.app.inject({ method: 'GET', url: '/api/ops/projections', headers: t.as('support') });
  expect(response.statusCode).toBe(200);
  return response.json().find((p: { name: string }) => p.name === name);
};

function runnerFor(t: TestApp, projections: readonly PgProjection[], extra: object = {}): ProjectionRunner {
  return new ProjectionRunner({
    orm: t.runtime.orm,
    store: t.runtime.eventStore,
    databaseUrl: t.db.url,
    projections,
    logger: t.runtime.logger,
    standbyRetryMs: 100,
    controlPollMs: 200,
    retryDelayMs: 20,
    ...extra,
  });
}

/**
 * Reads rooms over HTTP and SQL until stopped, and keeps what it saw: every answer must be a room (never an error
 * or a 404 of a room that exists) and every count all of them; `titles` says which version each read saw.
 */
function readContinuously(t: TestApp, ids: string[]) {
  const seen = { reads: 0, failures: [] as string[], upper: 0, lower: 0, mixed: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const id = ids[seen.reads % ids.length]!;
      const response = await t.app.inject({ method: 'GET', url: `/api/rooms/${id}`, headers: t.as('admin') });
      if (response.statusCode !== 200) seen.failures.push(`GET ${id}: ${response.statusCode} ${response.body}`);
      const { rows } = await t.runtime.pool.query<{ total: string; upper: string }>(
        `SELECT count(*) AS total, count(*) FILTER (WHERE title = upper(title)) AS upper FROM rooms WHERE id = ANY($1)`,
        [ids],
      );
      const total = Number(rows[0]!.total);
      const upper = Number(rows[0]!.upper);
      if (total !== ids.length) seen.failures.push(`count ${total} of ${ids.length}`);
      if (upper === total) seen.upper++;
      else if (upper === 0) seen.lower++;
      else seen.mixed++;
      seen.reads++;
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

describe('blue/green rebuilds', () => {
  let t: TestApp;
  let ids: string[];
  beforeAll(async () => {
    t = await createTestApp({ projections: false });
    ids = await appendRooms(t, 150, 6);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('builds a new version beside the old one: reads never fail, never see fewer rows or a mix of versions', async () => {
    const v1 = runnerFor(t, [roomsProjection]);
    await v1.start();
    await caughtUp(t, 'rooms');
    await v1.stop();

    // Version 2 writes titles in capitals: a read that saw some rows of each version would show both.
    const v2: PgProjection = {
      ...roomsProjection,
      version: 2,
      async apply(em: EntityManager, events: readonly RecordedEvent[]) {
        await roomsProjection.apply(em, events);
        await em.flush();
        await em.execute('UPDATE rooms SET title = upper(title) WHERE title <> upper(title)');
      },
    };
    const readers = readContinuously(t, ids);
    // Small shadow batches, so the rebuild lasts long enough to be read through.
    const runner = runnerFor(t, [v2], { rebuildBatchSize: 40 });
    await runner.start();
    let sawRunning = false;
    try {
      await waitFor(
        'version 2 switched in',
        async () => {
          const rebuild = (
            await t.runtime.pool.query('SELECT status FROM projection_rebuilds WHERE name = $1', ['rooms'])
          ).rows[0];
          if (rebuild?.status === 'running') sawRunning = true;
          const { rows } = await t.runtime.pool.query('SELECT version FROM projection_checkpoints WHERE name = $1', [
            'rooms',
          ]);
          return rows[0]?.version === 2;
        },
        60_000,
      );
      // Reads on after the switch, then stop.
      const after = readers.seen.reads;
      await waitFor('reads after the switch', () => readers.seen.reads > after + 5);
    } finally {
      await runner.stop();
    }
    const seen = await readers.stop();
    expect(sawRunning).toBe(true);
    expect(seen.failures).toEqual([]);
    expect(seen.mixed).toBe(0);
    expect(seen.lower).toBeGreaterThan(0);
    expect(seen.upper).toBeGreaterThan(0);
    // The new tables are the live ones, with the original index names; the shadow and retired schemas are gone.
    const { rows: indexes } = await t.runtime.pool.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'rooms' ORDER BY 1`,
    );
    expect(indexes.map((r) => r.indexname)).toEqual(expect.arrayContaining(['rooms_pkey']));
    const { rows: schemas } = await t.runtime.pool.query(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%' OR nspname LIKE 'retired_%'`,
    );
    expect(schemas).toEqual([]);
    // At the settled position the shadow reached: at or past the newest event (rolled-back appends leave gaps).
    expect(await checkpointOf(t, 'rooms')).toBeGreaterThanOrEqual(await t.runtime.eventStore.headPosition());
  }, 90_000);

  it('rebuilds on request while the live version keeps up with new events, and shows its progress', async () => {
    const runner = runnerFor(t, [roomsProjection], { rebuildBatchSize: 40 });
    // The code at version 1 again: a version change the other way is a rebuild too.
    await runner.start();
    try {
      await waitFor('version 1 back', async () => {
        const { rows } = await t.runtime.pool.query('SELECT version FROM projection_checkpoints WHERE name = $1', [
          'rooms',
        ]);
        return rows[0]?.version === 1;
      });
      await caughtUp(t, 'rooms');
      const before = await t.runtime.pool.query('SELECT id, title, revision FROM rooms ORDER BY id');
      for (const role of ['tenant', 'landlord', 'auditor', 'analyst', 'official'] as const) {
        const refused = await t.app.inject({
          method: 'POST',
          url: '/api/ops/projections/rooms/rebuild',
          headers: t.as(role),
        });
        expect(refused.statusCode, role).toBe(403);
      }
      const asked = await t.app.inject({
        method: 'POST',
        url: '/api/ops/projections/rooms/rebuild',
        headers: t.as('support'),
      });
      expect(asked.statusCode).toBe(202);
      expect(asked.json()).toEqual({ name: 'rooms', status: 'requested' });
      const again = await t.app.inject({
        method: 'POST',
        url: '/api/ops/projections/rooms/rebuild',
        headers: t.as('admin'),
      });
      expect(again.json()).toEqual({ name: 'rooms', status: 'already' });

      // While it builds, new rooms arrive: the live tables show them at once.
      await waitFor('the rebuild running', async () => (await statusOf(t, 'rooms')).rebuild?.status === 'running');
      const during = await appendRooms(t, 3);
      await waitFor('new rooms live during the rebuild', async () => {
        const { rows } = await t.runtime.pool.query('SELECT count(*) AS n FROM rooms WHERE id = ANY($1)', [during]);
        return Number(rows[0].n) === 3;
      });
      const running = (await statusOf(t, 'rooms')).rebuild;
      expect(running.progress).toBeGreaterThanOrEqual(0);
      expect(running.progress).toBeLessThanOrEqual(1);

      await waitFor('the rebuild done', async () => (await statusOf(t, 'rooms')).rebuild?.status === 'done', 60_000);
      const done = (await statusOf(t, 'rooms')).rebuild;
      expect(done).toMatchObject({ status: 'done', progress: 1, version: 1, error: null });
      expect(done.eventsApplied).toBeGreaterThanOrEqual(150 * 7);
      await caughtUp(t, 'rooms');
      const after = await t.runtime.pool.query(
        'SELECT id, title, revision FROM rooms WHERE NOT (id = ANY($1)) ORDER BY id',
        [during],
      );
      expect(after.rows).toEqual(before.rows);
      const { rows } = await t.runtime.pool.query('SELECT count(*) AS n FROM rooms WHERE id = ANY($1)', [during]);
      expect(Number(rows[0].n)).toBe(3);
    } finally {
      await runner.stop();
    }
  });

  it('refuses what it cannot do: unknown names 404, a projection without tables 409, hostile names 400', async () => {
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/ops/projections/no-such-projection/rebuild',
      headers: t.as('support'),
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('PROJECTION_NOT_FOUND');
    const sideEffects = t.runtime.projections.find((p) => !rebuildsBeside(p))!;
    const refused = await t.app.inject({
      method: 'POST',
      url: `/api/ops/projections/${sideEffects.name}/rebuild`,
      headers: t.as('support'),
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'NOT_REBUILDABLE' });
    for (const name of ['ROOMS', 'rooms%3B%20DROP%20TABLE%20rooms', '%F0%9F%98%80', 'a'.repeat(200), 'rooms%00']) {
      const response = await t.app.inject({
        method: 'POST',
        url: `/api/ops/projections/${name}/pause`,
        headers: t.as('support'),
      });
      expect(response.statusCode, name).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, name).toBeLessThan(500);
      expect(response.json()).toHaveProperty('error');
    }
  });
});

describe('pause, resume and the rows of one stream', () => {
  let t: TestApp;
  let ids: string[];
  let runner: ProjectionRunner;
  beforeAll(async () => {
    t = await createTestApp({ projections: false });
    ids = await appendRooms(t, 5, 2);
    runner = runnerFor(t, t.runtime.projections);
    await runner.start();
    await caughtUp(t, 'rooms');
  });
  afterAll(async () => {
    await runner?.stop();
    await t?.close();
  });

  it('pauses a projection (it applies nothing, reads go on) and resumes it where it stopped', async () => {
    const paused = await t.app.inject({
      method: 'POST',
      url: '/api/ops/projections/rooms/pause',
      headers: t.as('support'),
    });
    expect(paused.statusCode).toBe(202);
    await waitFor('rooms paused', async () => (await statusOf(t, 'rooms')).status === 'paused');
    const [late] = await appendRooms(t, 1);
    // Another projection moves past the new room while rooms stays where it was.
    await caughtUp(t, 'users');
    const head = await t.runtime.eventStore.headPosition();
    await waitFor('file references past the room', async () => (await checkpointOf(t, 'file-references')) >= head);
    expect(await checkpointOf(t, 'rooms')).toBeLessThan(head);
    expect(
      (await t.app.inject({ method: 'GET', url: `/api/rooms/${ids[0]}`, headers: t.as('admin') })).statusCode,
    ).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `/api/rooms/${late}`, headers: t.as('admin') })).statusCode).toBe(
      404,
    );

    const resumed = await t.app.inject({
      method: 'POST',
      url: '/api/ops/projections/rooms/resume',
      headers: t.as('admin'),
    });
    expect(resumed.json()).toEqual({ name: 'rooms', paused: false });
    await caughtUp(t, 'rooms');
    expect((await t.app.inject({ method: 'GET', url: `/api/rooms/${late}`, headers: t.as('admin') })).statusCode).toBe(
      200,
    );
  });

  it("rebuilds one room's row from its streams, and touches no other row", async () => {
    const [broken, other] = ids as [string, string];
    const right = (await t.runtime.pool.query('SELECT * FROM rooms WHERE id = $1', [broken])).rows[0];
    const untouched = (await t.runtime.pool.query('SELECT * FROM rooms WHERE id = $1', [other])).rows[0];
    await t.runtime.pool.query(`UPDATE rooms SET title = 'wrong', price_per_night = 1 WHERE id = $1`, [broken]);

    const asked = await t.app.inject({
      method: 'POST',
      url: `/api/ops/projections/rooms/streams/Room-${broken}/rebuild`,
      headers: t.as('support'),
    });
    expect(asked.statusCode).toBe(202);
    const { id } = asked.json();
    expect(asked.headers.location).toBe(`/api/ops/stream-rebuilds/${id}`);
    const done = await waitFor('the stream rebuilt', async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/ops/stream-rebuilds/${id}`,
        headers: t.as('support'),
      });
      return response.json().status === 'done' && response.json();
    });
    expect(done).toMatchObject({ projection: 'rooms', streamId: `Room-${broken}`, events: 3, error: null });
    expect((await t.runtime.pool.query('SELECT * FROM rooms WHERE id = $1', [broken])).rows[0]).toEqual(right);
    expect((await t.runtime.pool.query('SELECT * FROM rooms WHERE id = $1', [other])).rows[0]).toEqual(untouched);

    // A stream the projection keeps no rows for fails with the reason; a projection that cannot is refused.
    const wrong = await t.app.inject({
      method: 'POST',
      url: `/api/ops/projections/rooms/streams/Booking-${randomUUID()}/rebuild`,
      headers: t.as('support'),
    });
    const failed = await waitFor('the wrong stream answered', async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/ops/stream-rebuilds/${wrong.json().id}`,
        headers: t.as('support'),
      });
      const body = response.json() as { status: string; error: string };
      return body.status === 'failed' ? body : undefined;
    });
    expect(failed.error).toMatch(/keeps no rows/);
    const unsupported = await t.app.inject({
      method: 'POST',
      url: `/api/ops/projections/messaging/streams/Room-${broken}/rebuild`,
      headers: t.as('support'),
    });
    expect(unsupported.statusCode).toBe(409);
    for (const hostile of ['Room-%27%3B%20DROP', `Room-${'x'.repeat(300)}`, 'Room-%E2%80%AE', '-nothing']) {
      const response = await t.app.inject({
        method: 'POST',
        url: `/api/ops/projections/rooms/streams/${hostile}/rebuild`,
        headers: t.as('support'),
      });
      expect(response.statusCode, hostile).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, hostile).toBeLessThan(500);
    }
    expect(
      (await t.app.inject({ method: 'GET', url: `/api/ops/stream-rebuilds/${randomUUID()}`, headers: t.as('support') }))
        .statusCode,
    ).toBe(404);
  });
});

describe('parked events', () => {
  let t: TestApp;
  let runner: ProjectionRunner;
  /** Types the test projections fail on, while listed. */
  const failing = new Set<string>();

  /** A projection that counts the rooms it saw in a table of its own, and fails on what `failing` names. */
  const counting = (name: string, onPoison: 'skip' | 'stop'): PgProjection => ({
    name,
    version: 1,
    filter: { streamPrefixes: ['Room-'] },
    onPoison,
    async apply(em, events) {
      for (const recorded of events) {
        const title = (recorded.data as { changes?: { title?: string } }).changes?.title ?? '';
        if ([...failing].some((marker) => title.includes(marker))) throw new Error(`cannot apply ${title}`);
        await em.execute('INSERT INTO test_seen (projection, position) VALUES (?, ?) ON CONFLICT DO NOTHING', [
          name,
          recorded.position.toString(),
        ]);
      }
    },
    async reset() {},
  });

  const seen = async (name: string) =>
    (
      await t.runtime.pool.query('SELECT position FROM test_seen WHERE projection = $1 ORDER BY position', [name])
    ).rows.map((r) => BigInt(r.position));

  async function retitle(roomId: string, title: string): Promise<bigint> {
    const landlordId = randomUUID();
    const stream = `Room-${roomId}`;
    let revision = -1n;
    for await (const e of t.runtime.eventStore.readStream(stream)) revision = e.revision;
    const appended = await t.runtime.eventStore.append(
      stream,
      [newEvent('RoomUpdated', { roomId, changes: { title } }, landlordId)],
      { expectedRevision: revision < 0n ? 'no_stream' : revision },
    );
    return appended.position;
  }

  const parkedList = async (query = '') => {
    const response = await t.app.inject({
      method: 'GET',
      url: `/api/ops/parked-events${query}`,
      headers: t.as('support'),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };

  beforeAll(async () => {
    t = await createTestApp({ projections: false });
    await t.runtime.pool.query(
      'CREATE TABLE test_seen (projection text, position bigint, PRIMARY KEY (projection, position))',
    );
    runner = runnerFor(t, [counting('goes-past', 'skip'), counting('stops-at', 'stop')], { attempts: 2 });
    await runner.start();
  });
  afterAll(async () => {
    await runner?.stop();
    await t?.close();
  });

  it('parks a poison event: one projection goes past it, the other stops there; support retries and skips', async () => {
    const [roomId] = await appendRooms(t, 1, 0);
    failing.add('poison');
    const poison = await retitle(roomId!, 'poison one');
    const after = await retitle(roomId!, 'fine after');

    await waitFor('goes-past past the poison', async () => (await checkpointOf(t, 'goes-past')) >= after);
    expect(await seen('goes-past')).toContain(after);
    expect(await seen('goes-past')).not.toContain(poison);
    await waitFor('stops-at parked', async () => (await parkedList('?projection=stops-at')).items.length === 1);
    expect(await checkpointOf(t, 'stops-at')).toBeLessThan(poison);
    expect(await seen('stops-at')).not.toContain(after);

    const { items } = await parkedList();
    expect(items).toHaveLength(2);
    const [past, stopped] = [
      items.find((i: { projection: string }) => i.projection === 'goes-past'),
      items.find((i: { projection: string }) => i.projection === 'stops-at'),
    ];
    expect(past).toMatchObject({ position: poison.toString(), status: 'parked', type: 'RoomUpdated', attempts: 1 });
    expect(past.error).toContain('cannot apply poison one');
    const status = await statusOf(t, 'stops-at');
    // The test projections are not the app's: the list shows the app's only. Their parked events show all the same.
    expect(status).toBeUndefined();

    // Retried while it still fails: parked again, one more attempt.
    const stillFailing = await t.app.inject({
      method: 'POST',
      url: `/api/ops/parked-events/${past.id}/retry`,
      headers: t.as('support'),
    });
    expect(stillFailing.statusCode).toBe(200);
    expect(stillFailing.json()).toMatchObject({ status: 'parked', attempts: 2 });

    failing.clear();
    const retried = await t.app.inject({
      method: 'POST',
      url: `/api/ops/parked-events/${past.id}/retry`,
      headers: t.as('admin'),
    });
    expect(retried.json()).toMatchObject({ status: 'retried' });
    expect(await seen('goes-past')).toContain(poison);
    const twice = await t.app.inject({
      method: 'POST',
      url: `/api/ops/parked-events/${past.id}/retry`,
      headers: t.as('support'),
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ error: 'PARKED_EVENT_NOT_WAITING', details: { status: 'retried' } });

    // The stopped one is skipped: it goes on after it, and never applies it.
    const skipped = await t.app.inject({
      method: 'POST',
      url: `/api/ops/parked-events/${stopped.id}/skip`,
      headers: t.as('support'),
    });
    expect(skipped.statusCode).toBe(200);
    expect(skipped.json()).toMatchObject({ status: 'skipped' });
    await waitFor('stops-at past the skipped event', async () => (await checkpointOf(t, 'stops-at')) >= after);
    expect(await seen('stops-at')).toContain(after);
    expect(await seen('stops-at')).not.toContain(poison);
    expect((await parkedList()).items).toEqual([]);
    expect((await parkedList('?status=all')).items.map((i: { status: string }) => i.status).sort()).toEqual([
      'retried',
      'skipped',
    ]);
  });

  it('retries a stopped projection at its parked event once the cause is fixed', async () => {
    const [roomId] = await appendRooms(t, 1, 0);
    failing.add('second poison');
    const poison = await retitle(roomId!, 'second poison');
    await waitFor('stops-at parked again', async () =>
      (await parkedList('?projection=stops-at')).items.some(
        (i: { position: string }) => i.position === poison.toString(),
      ),
    );
    const parked = (await parkedList('?projection=stops-at')).items[0];
    failing.clear();
    const retried = await t.app.inject({
      method: 'POST',
      url: `/api/ops/parked-events/${parked.id}/retry`,
      headers: t.as('support'),
    });
    expect(retried.statusCode).toBe(200);
    await waitFor('stops-at past it', async () => (await checkpointOf(t, 'stops-at')) >= poison);
    expect(await seen('stops-at')).toContain(poison);
    await waitFor('resolved', async () => (await parkedList('?projection=stops-at')).items.length === 0);
  });

  it('pages the list with a cursor it signed, refuses others and every other role', async () => {
    const page = await parkedList('?status=all&limit=1');
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).toEqual(expect.any(String));
    const next = await parkedList(`?status=all&limit=1&cursor=${encodeURIComponent(page.nextCursor)}`);
    expect(next.items[0].id).not.toBe(page.items[0].id);
    for (const cursor of [
      'garbage',
      'eyJhIjoxfQ',
      '%F0%9F%98%80',
      'x'.repeat(600),
      "'; DROP TABLE projection_parked",
    ]) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/ops/parked-events?cursor=${encodeURIComponent(cursor)}`,
        headers: t.as('support'),
      });
      expect(response.statusCode, cursor).toBe(400);
    }
    for (const role of ['tenant', 'landlord', 'auditor', 'analyst', 'official'] as const) {
      for (const [method, url] of [
        ['GET', '/api/ops/parked-events'],
        ['POST', `/api/ops/parked-events/${page.items[0].id}/retry`],
        ['POST', `/api/ops/parked-events/${page.items[0].id}/skip`],
        ['POST', '/api/ops/projections/rooms/pause'],
        ['POST', '/api/ops/projections/rooms/resume'],
        ['POST', `/api/ops/projections/rooms/streams/Room-${randomUUID()}/rebuild`],
        ['GET', `/api/ops/stream-rebuilds/${randomUUID()}`],
      ] as const) {
        const response = await t.app.inject({ method, url, headers: t.as(role) });
        expect(response.statusCode, `${role} ${method} ${url}`).toBe(403);
      }
    }
    const missing = await t.app.inject({
      method: 'POST',
      url: `/api/ops/parked-events/${randomUUID()}/skip`,
      headers: t.as('support'),
    });
    expect(missing.statusCode).toBe(404);
  });
});
