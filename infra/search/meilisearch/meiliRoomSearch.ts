import { type EnqueuedTaskPromise, type Index, Meilisearch, type Settings, type WaitOptions } from 'meilisearch';
import { nightsOf } from '../../../domain/bookings/calendar.js';
import { type DateRange, dateOfDay, dayNumber, normalizeRanges } from '../../../domain/shared/values.js';
import type {
  RoomSearchDocument,
  RoomSearchHit,
  RoomSearchPage,
  RoomSearchQuery,
  RoomSearchReader,
  RoomSearchWriter,
} from '../roomSearchIndex.js';
import {
  buildFilter,
  decodeCursor,
  filterNumber,
  freshDocuments,
  HIT_ATTRIBUTES,
  idsFilter,
  type MeiliHitSource,
  type MeiliRoomDocument,
  meiliSort,
  selectPage,
  toHit,
  toMeiliDocument,
} from './meiliQuery.js';

/**
 * How many hits of one search are looked at, at most. Meilisearch cannot sort by the ranking formula (it depends on
 * the distance to the searched point, and on settings passed per query), so for `sort=ranking` the candidates
 * within the radius are fetched in distance order up to this cap, scored with domain/search/ranking.ts and ordered
 * in process: a search whose radius holds more than CANDIDATE_CAP matching rooms ranks only the nearest
 * CANDIDATE_CAP of them. `sort=distance` pages through the same window (its pages end at the CANDIDATE_CAP-th
 * nearest room); `sort=price` narrows each page with `pricePerNight >= <cursor's price>`, so the cap applies to
 * one page's window, not to the whole result. It is also the index's `pagination.maxTotalHits`, Meilisearch's own
 * limit on `offset + limit`.
 */
export const CANDIDATE_CAP = 1000;
/**
 * Meilisearch cannot filter ranges, so a room's unavailable ranges are stored as the nights they cover, but only
 * those from yesterday (UTC, for time zones) to NIGHTS_HORIZON_DAYS ahead, as of the write: a block over all of time
 * costs at most that many nights, not millions. Two years, as far ahead as bookings and blocks are taken. The horizon
 * is counted from the room's last change of availability: a stay asked for beyond it may list a room that is not
 * free (the booking itself is checked against the calendar stream, so it is refused, never double-booked).
 */
export const NIGHTS_HORIZON_DAYS = 732;

/** The nights of `ranges` within the horizon from `today` (a day number), sorted. */
export function nightsWithinHorizon(ranges: readonly DateRange[], today: number): string[] {
  const start = today - 1;
  const end = today + NIGHTS_HORIZON_DAYS;
  const nights: string[] = [];
  for (const range of normalizeRanges(ranges, 'ranges')) {
    const from = Math.max(start, dayNumber(range.from));
    const to = Math.min(end, dayNumber(range.to));
    if (from < to) nights.push(...nightsOf(dateOfDay(from), dateOfDay(to)));
  }
  return nights;
}

/** Hits per request while collecting candidates. */
const FETCH_PAGE_SIZE = 250;
/** Ids per `getDocuments` request when reading the stored versions of a batch. */
const VERSION_READ_CHUNK = 100;

const SETTINGS: Settings = {
  searchableAttributes: ['title', 'description', 'address'],
  filterableAttributes: ['id', 'published', '_geo', 'pricePerNight', 'maxOccupants', 'amenities', 'unavailableNights'],
  // The ranking needs no sortable attribute of its own: it is computed in process from `_geoDistance` (via `_geo`).
  sortableAttributes: ['_geo', 'pricePerNight', 'id'],
  // `sort` first: the order a search asks for (distance, price) is the order of the hits, text relevance only breaks
  // its ties. The in-process paging relies on it (see selectPage's `monotone`).
  rankingRules: ['sort', 'words', 'typo', 'proximity', 'attribute', 'exactness'],
  // Defaults made explicit: one typo from 5 letters (a swap of two letters is one: "quite" finds "quiet"), two from 9.
  typoTolerance: { enabled: true, minWordSizeForTypos: { oneTypo: 5, twoTypos: 9 } },
  pagination: { maxTotalHits: CANDIDATE_CAP },
};

export interface MeiliRoomSearchOptions {
  url: string;
  apiKey?: string;
  indexName?: string;
  /** How long to wait for one Meilisearch task (settings, a batch of documents); default 60 s. */
  taskTimeoutMs?: number;
  /** The clock the nights horizon starts from; default the system clock. */
  now?: () => Date;
}

export interface MeiliRoomSearch {
  writer: RoomSearchWriter;
  reader: RoomSearchReader;
  /** Creates the index with primary key `id` if missing and applies its settings; idempotent; waits for the tasks. */
  ensureSettings(): Promise<void>;
  close(): Promise<void>;
}

/** A Meilisearch task ended otherwise than `succeeded` (or the index is not what this adapter expects). */
export class MeiliTaskFailed extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'MeiliTaskFailed';
  }
}

/**
 * The room search index port on Meilisearch (SEARCH_BACKEND=meilisearch). No server runs on the development machine:
 * test/infra/search/meiliRoomSearch.test.ts runs the contract against one when MEILI_URL is set; the pure parts
 * (filters, cursor, ordering) live in meiliQuery.ts and are unit-tested.
 */
export function createMeiliRoomSearch(options: MeiliRoomSearchOptions): MeiliRoomSearch {
  const indexName = options.indexName ?? 'rooms';
  const wait: WaitOptions = { timeout: options.taskTimeoutMs ?? 60_000, interval: 50 };
  const client = new Meilisearch({
    host: options.url,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    defaultWaitOptions: wait,
  });
  const index: Index<MeiliRoomDocument> = client.index<MeiliRoomDocument>(indexName);

  async function run(task: EnqueuedTaskPromise, what: string, tolerated?: string): Promise<void> {
    const done = await task.waitTask(wait);
    if (done.status === 'succeeded') return;
    if (tolerated && done.error?.code === tolerated) return;
    throw new MeiliTaskFailed(
      `Meilisearch task ${done.uid} (${what} on index "${indexName}") ${done.status}: ${
        done.error ? `${done.error.code}: ${done.error.message}` : 'no error given'
      }`,
      done.error?.code,
    );
  }

  async function applySettings(): Promise<void> {
    await run(client.createIndex(indexName, { primaryKey: 'id' }), 'create index', 'index_already_exists');
    const info = await index.getRawInfo();
    if (!info.primaryKey) {
      // An index created without documents (or by hand) may have no primary key yet; it can still be set.
      await run(index.update({ primaryKey: 'id' }), 'set primary key');
    } else if (info.primaryKey !== 'id') {
      throw new MeiliTaskFailed(
        `Meilisearch index "${indexName}" has primary key "${info.primaryKey}", not "id": drop it or use another MEILI index name`,
        'primary_key_mismatch',
      );
    }
    await run(index.updateSettings(SETTINGS), 'update settings');
  }

  // Settings are applied once per process before the first read or write, unless ensureSettings() ran already (the
  // composition root calls it at start-up). A failure is not remembered: the next call tries again.
  let ready: Promise<void> | null = null;
  function ensureReady(): Promise<void> {
    if (!ready) {
      ready = applySettings().catch((error: unknown) => {
        ready = null;
        throw error;
      });
    }
    return ready;
  }

  const writer: RoomSearchWriter = {
    /**
     * Idempotent by version. Meilisearch has no conditional write, so the stored versions of the batch's rooms are
     * read first and stale documents are dropped before `updateDocuments`. Between that read and the write another
     * writer could store a newer version that this write then overwrites: that race is not closed here, it is
     * excluded by deployment: the search-index projection has one active runner (lease), so one writer per index,
     * which waits for each task before its next read. A replay after a crash writes the same versions again
     * (skipped as not newer) or the missing ones.
     *
     * `updateDocuments` (a merge by id, not a replacement) keeps `unavailableNights`, which documents never carry.
     */
    async upsertRooms(documents: readonly RoomSearchDocument[]): Promise<void> {
      if (documents.length === 0) return;
      await ensureReady();
      const ids = [...new Set(documents.map((d) => d.roomId))];
      const stored = new Map<string, number>();
      for (let i = 0; i < ids.length; i += VERSION_READ_CHUNK) {
        const chunk = ids.slice(i, i + VERSION_READ_CHUNK);
        const page = await index.getDocuments<Pick<MeiliRoomDocument, 'id' | 'version'>>({
          filter: idsFilter(chunk),
          fields: ['id', 'version'],
          limit: chunk.length,
        });
        for (const row of page.results) {
          // A room known only by its unavailable nights has no version yet: its document is still to come.
          if (typeof row.version === 'number') stored.set(String(row.id), row.version);
        }
      }
      const fresh = freshDocuments(documents, stored).map(toMeiliDocument);
      if (fresh.length === 0) return;
      await run(index.updateDocuments(fresh, { primaryKey: 'id' }), 'upsert rooms');
    },

    /**
     * A partial update `{ id, unavailableNights }`, the nights of the ranges within the horizon (NIGHTS_HORIZON_DAYS):
     * for a room not indexed yet it creates a document holding only the nights (never found: it is not
     * `published = true`), which the room's first upsert then merges into.
     */
    async setUnavailableRanges(roomId: string, ranges: readonly DateRange[]): Promise<void> {
      const today = Math.floor((options.now?.() ?? new Date()).getTime() / 86_400_000);
      const unavailableNights = nightsWithinHorizon(ranges, today);
      await ensureReady();
      await run(index.updateDocuments([{ id: roomId, unavailableNights }], { primaryKey: 'id' }), 'set nights');
    },

    async clear(): Promise<void> {
      await ensureReady();
      await run(index.deleteAllDocuments(), 'clear');
    },
  };

  const reader: RoomSearchReader = {
    async search(query: RoomSearchQuery): Promise<RoomSearchPage> {
      // The cursor is checked before any request: a bad one is the caller's error, whatever the server's state.
      const position = query.cursor !== undefined ? decodeCursor(query.cursor, query.sort) : null;
      const limit = Math.max(1, Math.floor(query.limit));
      let filter = buildFilter(query);
      if (position && query.sort === 'price') {
        // Keyset narrowing: nothing cheaper than the last hit can follow it. Same-price rooms with a lower id are
        // dropped in process (selectPage).
        filter += ` AND pricePerNight >= ${filterNumber(position.key, 'cursor')}`;
      }
      await ensureReady();
      const sort = meiliSort(query.sort, query.center);
      const text = query.q?.trim() ? query.q.trim() : null;
      // Meilisearch returns distance and price in the requested order (the `sort` ranking rule comes first), so
      // those stop as soon as the page is settled; the ranking must see every candidate up to the cap.
      const monotone = query.sort !== 'ranking';
      const fetched: RoomSearchHit[] = [];
      for (let offset = 0; offset < CANDIDATE_CAP; offset += FETCH_PAGE_SIZE) {
        const pageSize = Math.min(FETCH_PAGE_SIZE, CANDIDATE_CAP - offset);
        const response = await index.search<MeiliHitSource>(text, {
          filter,
          sort,
          offset,
          limit: pageSize,
          attributesToRetrieve: [...HIT_ATTRIBUTES],
          // Every word must match (each within its typo allowance), not just the first ones.
          matchingStrategy: 'all',
        });
        for (const hit of response.hits) fetched.push(toHit(hit, query.center, query.ranking));
        if (response.hits.length < pageSize) break;
        if (monotone && selectPage(fetched, query.sort, limit, position, true).complete) break;
      }
      const { items, nextCursor } = selectPage(fetched, query.sort, limit, position, monotone);
      return { items, nextCursor };
    },
  };

  return {
    writer,
    reader,
    async ensureSettings() {
      ready = null;
      await ensureReady();
    },
    // The client holds no sockets of its own (fetch); nothing to release.
    async close() {},
  };
}
