import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RANKING } from '../../../domain/search/ranking.js';
import { seededRandom } from '../../../infra/demo/demoData.js';
import { pgRoomSearchReader, pgRoomSearchWriter, poolSql } from '../../../infra/search/postgres/pgRoomSearch.js';
import { offset, roomDocument, roomIndexContract } from '../../contracts/roomIndex.contract.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

roomIndexContract('PostgreSQL', {
  async create() {
    const db = await createTestDatabase(4);
    const sql = poolSql(db.pool);
    return { writer: pgRoomSearchWriter(sql), reader: pgRoomSearchReader(sql), drop: () => db.drop() };
  },
});

describe('PostgreSQL room search: adapter specifics', () => {
  let db: TestDatabase;
  const writer = () => pgRoomSearchWriter(poolSql(db.pool));
  const reader = () => pgRoomSearchReader(poolSql(db.pool));
  beforeAll(async () => {
    db = await createTestDatabase(4);
  });
  afterAll(async () => {
    await db?.drop();
  });
  const vocabulary = async (): Promise<string[]> =>
    (await db.pool.query('SELECT word FROM search_words ORDER BY word')).rows.map((r) => r.word);
  /** Rows in the index's tables other than the rooms themselves. */
  const indexRows = async (): Promise<number> => {
    const { rows } = await db.pool.query(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name LIKE 'search\\_room\\_%' AND table_name <> 'search_room_state'`,
    );
    let total = 0;
    for (const { table_name } of rows) {
      total += Number((await db.pool.query(`SELECT count(*) AS n FROM ${table_name}`)).rows[0].n);
    }
    return total;
  };

  it('keeps in its typo vocabulary only the words of published rooms, and forgets them when rooms change', async () => {
    await writer().clear();
    const draft = roomDocument({
      title: 'Xylophonic attic',
      description: 'see example.com/quiet) & !room :*',
      address: 'Via Roma 12',
      published: false,
    });
    await writer().upsertRooms([draft]);
    expect(await vocabulary()).toEqual([]);
    await writer().upsertRooms([{ ...draft, published: true, version: 2 }]);
    expect(await vocabulary()).toEqual([
      'attic',
      'com',
      'example',
      'quiet',
      'roma',
      'room',
      'see',
      'via',
      'xylophonic',
    ]);
    const twin = roomDocument({ title: 'Attic', description: null, address: 'Via Pola' });
    await writer().upsertRooms([twin]);
    await writer().upsertRooms([{ ...draft, published: true, description: null, version: 3 }]);
    expect(await vocabulary()).toEqual(['attic', 'pola', 'roma', 'via', 'xylophonic']);
    await writer().upsertRooms([{ ...draft, published: false, version: 4 }]);
    expect(await vocabulary()).toEqual(['attic', 'pola', 'via']);
    // An older version changes nothing.
    await writer().upsertRooms([{ ...draft, published: true, version: 3 }]);
    expect(await vocabulary()).toEqual(['attic', 'pola', 'via']);
  });

  it('stores a block over all of time as one range, not as its nights', async () => {
    const room = roomDocument();
    await writer().upsertRooms([room]);
    const before = await indexRows();
    await writer().setUnavailableRanges(room.roomId, [{ from: '0100-01-01', to: '9999-12-31' }]);
    expect((await indexRows()) - before).toBeLessThanOrEqual(1);
  });

  it('finds "quiet" for "quite" with a vocabulary of 100,000 words', async () => {
    await writer().clear();
    const centre = offset({ lat: 44.4939, lng: 11.3428 }, 900_000);
    const quiet = roomDocument({ location: offset(centre, 100), title: 'Quiet room', description: null });
    await writer().upsertRooms([quiet]);
    const rand = seededRandom(7);
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const words = new Set<string>(['quits', 'quitz', 'quitx', 'quito', 'quitr', 'aquite', 'quiten', 'squite']);
    while (words.size < 100_000) {
      const length = 4 + Math.floor(rand() * 9);
      let word = Math.floor(rand() * 3) === 0 ? 'qu' : '';
      while (word.length < length) word += letters[Math.floor(rand() * letters.length)];
      words.add(word);
    }
    const list = [...words];
    const started = performance.now();
    const farAway = offset(centre, 300_000);
    for (let i = 0; i < list.length; i += 10_000) {
      const rooms = [];
      for (let j = i; j < Math.min(list.length, i + 10_000); j += 50) {
        rooms.push(
          roomDocument({
            location: farAway,
            title: 'Flat',
            description: list.slice(j, j + 50).join(' '),
            address: 'x',
          }),
        );
      }
      await writer().upsertRooms(rooms);
    }
    const seeded = performance.now() - started;
    expect(Number((await db.pool.query('SELECT count(*) AS n FROM search_words')).rows[0].n)).toBeGreaterThanOrEqual(
      100_000,
    );
    const searchStarted = performance.now();
    const page = await reader().search({
      center: centre,
      radiusMeters: 1_000,
      sort: 'distance',
      limit: 10,
      ranking: DEFAULT_RANKING,
      q: 'quite',
    });
    const searched = performance.now() - searchStarted;
    console.info(
      `[pgRoomSearch] 100,000 words seeded in ${seeded.toFixed(0)} ms, "quite" searched in ${searched.toFixed(1)} ms`,
    );
    expect(page.items.map((h) => h.id)).toEqual([quiet.roomId]);
  }, 180_000);
});
