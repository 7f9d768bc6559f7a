import {
  type EntityManager,
  type EntityName,
  type EntityProperty,
  type FilterQuery,
  ReferenceKind,
} from '@mikro-orm/postgresql';
import type { RecordedEvent } from '../infra/eventStore/eventStore.js';
import { asJson, quoteIdentifier as quote, runSql } from './jsonParameters.js';
import type { PgProjection } from './projection.js';

/** What a row remembers of the last event of its stream applied to it. */
export interface AppliedMark {
  /** Stream revision of the last event applied. */
  revision: bigint;
  /** Global position of the last event applied. */
  lastPosition: bigint;
}

/** A row's own fields: the helper writes `revision` and `lastPosition`. */
export type RowFields<Row extends AppliedMark> = Omit<Row, keyof AppliedMark>;

/** What the store says of the event being applied, beside the event itself. */
export interface Applying {
  /** The stream id without its prefix: the row's key. */
  id: string;
  /** When the event occurred (`metadata.occurredAt`), as a date and as sent. */
  at: Date;
  occurredAt: string;
  recorded: RecordedEvent;
}

export interface SingleStreamRowsOptions<Event extends { type: string }, Row extends AppliedMark> {
  name: string;
  version: number;
  /** The streams, one row each: `Booking-` gives the row of `Booking-{id}`. */
  streamPrefix: string;
  eventTypes: readonly Event['type'][];
  entity: EntityName<Row>;
  /** The row's key property, holding the stream id without its prefix. */
  key: keyof Row & string;
  /** Emptied by `reset`; its copy is built beside it in a blue/green rebuild. */
  table: string;
  /**
   * Streams other than the row's own whose events (the `also` ones) make a row: what a rebuild of that one row
   * replays besides its stream (the room calendar of a room, the reviews of a room, the people of a booking).
   */
  relatedStreams?(em: EntityManager, id: string): Promise<string[]>;
  /**
   * The row after the event, from the row before it (null: none yet); null when the event changes nothing.
   * Pure: it gets each event once, in stream order, never one the row already reflects.
   */
  evolve(row: Readonly<Row> | null, event: Event, applying: Applying): RowFields<Row> | null;
  /**
   * Events of other streams that touch these rows (a person's erasure, a room's calendar), applied as they come:
   * they keep their own idempotency, and `revision` stays the row's own stream's.
   */
  also?: {
    eventTypes: readonly string[];
    streamPrefixes: readonly string[];
    /**
     * The key of the one row an event changes (null: none), for events that change that row alone: it is read with
     * the batch's other rows and changed in memory by `evolveRow` (which keeps the event's idempotency, by the
     * row's `lastPosition`). Events without a row go to `apply`.
     */
    rowOf?(recorded: RecordedEvent): string | null;
    evolveRow?(row: Row, recorded: RecordedEvent): void;
    apply?(em: EntityManager, recorded: RecordedEvent): Promise<void>;
  };
}

/**
 * A projection with one row per stream: it skips an event the row already reflects (by stream revision), casts
 * each event once, and records the revision and position of the last one applied, so `evolve` holds only what the
 * events mean for the row.
 */
export function singleStreamRows<Event extends { type: string }, Row extends AppliedMark>(
  options: SingleStreamRowsOptions<Event, Row>,
): PgProjection {
  const { streamPrefix, entity, key, evolve, also } = options;
  let table: RowTable<Row> | undefined;
  const tableOf = (em: EntityManager) => {
    table ??= rowTable<Row>(em, entity, options.table, key);
    return table;
  };
  /** Adds to `rows` the rows of these keys not in it yet (null: no row), in one query. */
  async function readRows(em: EntityManager, keys: readonly string[], rows: Map<string, Row | null>) {
    const ids = [...new Set(keys)].filter((id) => !rows.has(id));
    if (ids.length === 0) return;
    // Plain rows, not managed entities: the batch writes what it changed itself, in one statement, not by a flush.
    const found = await tableOf(em).read(em, ids);
    // Keys compare as the database compares them: a uuid column matches a stream id written in capitals.
    const byKey = new Map(found.map((row) => [String(row[key]).toLowerCase(), row]));
    for (const id of ids) rows.set(id, byKey.get(id.toLowerCase()) ?? null);
  }
  return {
    name: options.name,
    version: options.version,
    filter: {
      eventTypes: [...options.eventTypes, ...(also?.eventTypes ?? [])],
      streamPrefixes: [streamPrefix, ...(also?.streamPrefixes ?? [])],
    },

    async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
      // The rows of a run of events that change rows in memory are read in one query, then evolved and written by
      // the runner's flush: no query (and so no auto-flush) per event. An `also.apply` may change rows behind the
      // entity manager's back (native SQL), so the rows are read again after one.
      let rows = new Map<string, Row | null>();
      /** The rows the batch changed since they were last written. */
      const changed = new Set<Row>();
      const write = async () => {
        if (changed.size === 0) return;
        await tableOf(em).write(em, [...changed]);
        changed.clear();
      };
      // The row an event changes in memory: its own stream's, or the one an `also` event names (undefined: none
      // that way, the event goes to also.apply).
      const rowKey = (recorded: RecordedEvent): string | null | undefined =>
        recorded.streamId.startsWith(streamPrefix)
          ? recorded.streamId.slice(streamPrefix.length)
          : also?.rowOf && also.evolveRow
            ? also.rowOf(recorded)
            : undefined;
      const keys = events.map(rowKey);
      for (let start = 0; start < events.length; ) {
        if (keys[start] === undefined) {
          // It may read or change the rows (through the entity manager or SQL): it sees them as written so far, and
          // what it changed is written before they are read again.
          await write();
          await also?.apply?.(em, events[start]!);
          await em.flush();
          rows = new Map();
          start++;
          continue;
        }
        let end = start;
        while (end < events.length && keys[end] !== undefined) end++;
        await readRows(
          em,
          keys.slice(start, end).filter((id): id is string => typeof id === 'string'),
          rows,
        );
        for (let i = start; i < end; i++) {
          const recorded = events[i]!;
          const id = keys[i];
          if (typeof id !== 'string') continue;
          const row = rows.get(id) ?? null;
          if (!recorded.streamId.startsWith(streamPrefix)) {
            if (row) {
              also!.evolveRow!(row, recorded);
              changed.add(row);
            }
            continue;
          }
          if (row && row.revision >= recorded.revision) continue;
          const event = { type: recorded.type, data: recorded.data } as unknown as Event;
          const { occurredAt } = recorded.metadata;
          const next = evolve(row, event, { id, at: new Date(occurredAt), occurredAt, recorded });
          if (!next) continue;
          const mark: AppliedMark = { revision: recorded.revision, lastPosition: recorded.position };
          const written = row ? Object.assign(row, next, mark) : ({ ...next, ...mark } as Row);
          if (!row) rows.set(id, written);
          changed.add(written);
        }
        start = end;
      }
      await write();
    },

    async reset(em: EntityManager): Promise<void> {
      await em.execute(`DELETE FROM ${options.table}`);
    },

    tables: [options.table],

    streamRows: {
      async streamsOf(em: EntityManager, streamId: string): Promise<string[] | null> {
        if (!streamId.startsWith(streamPrefix)) return null;
        const id = streamId.slice(streamPrefix.length);
        return [streamId, ...((await options.relatedStreams?.(em, id)) ?? [])];
      },
      async forget(em: EntityManager, streamId: string): Promise<void> {
        await em.nativeDelete(entity, { [key]: streamId.slice(streamPrefix.length) } as FilterQuery<Row>);
      },
    },
  };
}

/** The rows of one entity, read and written as plain objects, a batch at a time. */
interface RowTable<Row> {
  read(em: EntityManager, keys: readonly string[]): Promise<Row[]>;
  write(em: EntityManager, rows: readonly Row[]): Promise<void>;
}

/**
 * Reads and upserts an entity's rows from its metadata, statements built once: `SELECT` by keys passed as one JSON
 * list, and `INSERT … SELECT … FROM jsonb_to_recordset(?)` with a column per mapped property, `ON CONFLICT (key) DO
 * UPDATE` every one of them. Values are converted as the ORM would (its types' conversions, a PostGIS point through
 * its SQL). One projection writes each of these tables, and a row is changed only from what it held when read in the
 * same transaction, so writing every column loses nothing.
 */
function rowTable<Row>(em: EntityManager, entity: EntityName<Row>, table: string, key: string): RowTable<Row> {
  const meta = em.getMetadata().get(entity as EntityName<object>);
  const platform = em.getPlatform();
  const columns = (meta.props as EntityProperty<object>[])
    .filter((prop) => prop.kind === ReferenceKind.SCALAR && prop.persist !== false && prop.fieldNames?.length === 1)
    .map((prop) => {
      const column = prop.fieldNames[0]!;
      const type = prop.customType;
      const kept = prop.type === 'json' || prop.columnTypes[0]?.endsWith('[]') || type?.constructor.name === 'JsonType';
      // JSON and arrays go as they are; only another type's own SQL (a PostGIS point's) wraps its text.
      const sqlOf = kept ? undefined : type?.convertToDatabaseValueSQL?.bind(type);
      const readSql = kept ? undefined : type?.convertToJSValueSQL?.bind(type);
      const isDate = prop.runtimeType === 'Date';
      return {
        name: prop.name as string,
        column,
        /** What `jsonb_to_recordset` reads the value as: the table's own type (`statements`), text for SQL-wrapped. */
        wrapped: sqlOf !== undefined,
        select: sqlOf ? sqlOf(`x.${quote(column)}`, platform) : `x.${quote(column)}`,
        read: readSql ? `${readSql(quote(column), platform)} AS ${quote(column)}` : quote(column),
        toDb: (value: unknown): unknown =>
          value === undefined || value === null
            ? null
            : kept
              ? value
              : sqlOf
                ? type!.convertToDatabaseValue(value, platform)
                : typeof value === 'bigint'
                  ? value.toString()
                  : value,
        toJs: (value: unknown): unknown =>
          value === null || value === undefined
            ? null
            : type
              ? type.convertToJSValue(value, platform)
              : isDate && !(value instanceof Date)
                ? new Date(value as string)
                : value,
      };
    });
  const keyColumn = columns.find((column) => column.name === key);
  if (!keyColumn) throw new Error(`${meta.className}: the key ${key} is not a mapped column`);
  const list = columns.map((column) => quote(column.column)).join(', ');
  let built: Promise<{ select: string; upsert: string }> | undefined;
  /**
   * The statements, with each column read from the JSON as the table stores it: the catalog's type, not the entity's
   * (a `string` property is `varchar(255)` to the ORM and `text` in the migrations; reading it as the former refused
   * longer addresses the API accepts). The table as `search_path` finds it: a blue/green copy has the same columns.
   */
  const statements = (em: EntityManager) => {
    built ??= (async () => {
      const catalog = await runSql<{ name: string; type: string }>(
        em,
        `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
          WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped`,
        [quote(table)],
      );
      const types = new Map(catalog.map((column) => [column.name, column.type]));
      const typeOf = (column: (typeof columns)[number]) => {
        if (column.wrapped) return 'text';
        const type = types.get(column.column);
        if (!type) throw new Error(`${meta.className}: the table ${table} has no column ${column.column}`);
        return type;
      };
      return {
        select: `SELECT ${columns.map((column) => column.read).join(', ')} FROM ${quote(table)}
          WHERE ${quote(keyColumn.column)} IN (SELECT value::${typeOf(keyColumn)} FROM jsonb_array_elements_text(?::jsonb))`,
        upsert: `INSERT INTO ${quote(table)} (${list})
          SELECT ${columns.map((column) => column.select).join(', ')}
            FROM jsonb_to_recordset(?::jsonb) AS x(${columns.map((c) => `${quote(c.column)} ${typeOf(c)}`).join(', ')})
          ON CONFLICT (${quote(keyColumn.column)}) DO UPDATE SET
            ${columns
              .filter((column) => column !== keyColumn)
              .map((column) => `${quote(column.column)} = EXCLUDED.${quote(column.column)}`)
              .join(', ')}`,
      };
    })();
    built.catch(() => {
      built = undefined;
    });
    return built;
  };
  return {
    async read(em, keys) {
      const { select } = await statements(em);
      const found = await runSql<Record<string, unknown>>(em, select, [asJson(keys)]);
      return found.map((stored) => {
        const row: Record<string, unknown> = {};
        for (const column of columns) row[column.name] = column.toJs(stored[column.column]);
        return row as Row;
      });
    },
    async write(em, rows) {
      const values = rows.map((row) => {
        const out: Record<string, unknown> = {};
        for (const column of columns) out[column.column] = column.toDb((row as Record<string, unknown>)[column.name]);
        return out;
      });
      const { upsert } = await statements(em);
      await runSql(em, upsert, [asJson(values)]);
    },
  };
}
