import type {
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from '../eventStore/eventStore.js';
import { PersonalDataUnreadable, type PersonalDataVault } from './personalDataVault.js';

/** Which fields of one event type are personal data, and whose. */
export interface PersonalDataRule {
  /** The person the fields belong to: a UUID (e.g. the user id), kept in plain text in the event. */
  subject(data: unknown): string;
  /** Fields holding a string or null, as dot paths into the data (`email`, `profile.phone`). Arrays are not walked. */
  fields: readonly string[];
  /**
   * Fields that became personal after their event type was first written, with the schema version
   * from which they are sealed. Older events hold them in plaintext: they read as written, and as null
   * once the subject is erased. A plain value in an event of that version or later is still refused.
   */
  sealedFrom?: Readonly<Record<string, number>>;
}

/** Rules by event type; event types not listed carry no personal data. */
export type PersonalDataPolicy = Readonly<Record<string, PersonalDataRule>>;

type Data = Record<string, unknown>;

/**
 * The store with personal data sealed at rest (docs/decisions/0006-crypto-shredding.md). On append,
 * every string in a field the policy lists is replaced by the vault's sealed value (null and absent
 * fields stay as they are), so the stored events and their hash chain hold only ciphertext. Every
 * read opens them again; for an erased subject the listed fields read as null and the data gets
 * `personalDataErased: true`, so the events still fold.
 *
 * Appending a personal value for an erased subject throws `PersonalDataErased` (an event with all its
 * listed fields null, such as the record of the erasure itself, still appends). A value that does not
 * open (tampered, sealed for another subject, plaintext) throws `PersonalDataUnreadable` naming the
 * event and field. Wrap the raw store with this before `withUpcasting`: the policy describes events as
 * stored, and upcasters then see plaintext.
 */
export function withPersonalData(store: EventStore, vault: PersonalDataVault, policy: PersonalDataPolicy): EventStore {
  const rules = new Map<string, { rule: PersonalDataRule; paths: string[][] }>();
  for (const [type, rule] of Object.entries(policy)) {
    for (const field of Object.keys(rule.sealedFrom ?? {})) {
      if (!rule.fields.includes(field)) throw new RangeError(`personal data policy of ${type}: ${field} is not listed`);
    }
    rules.set(type, { rule, paths: rule.fields.map((field) => parsePath(type, field)) });
  }
  const sealedIn = (rule: PersonalDataRule, path: readonly string[], schemaVersion: number) =>
    schemaVersion >= (rule.sealedFrom?.[path.join('.')] ?? 0);

  async function seal(event: NewEvent): Promise<NewEvent> {
    const entry = rules.get(event.type);
    if (!entry) return event;
    const subject = entry.rule.subject(event.data);
    let data = asObject(event.type, event.data);
    for (const path of entry.paths) {
      if (!sealedIn(entry.rule, path, event.schemaVersion)) continue;
      const value = getAt(data, path);
      if (value === null || value === undefined) continue;
      if (typeof value !== 'string') {
        throw new TypeError(
          `${event.type}.${path.join('.')}: personal data must be a string or null, got ${typeof value}`,
        );
      }
      data = setAt(data, path, await vault.encrypt(subject, value));
    }
    return data === event.data ? event : { ...event, data };
  }

  async function open<E extends RecordedEvent>(event: E): Promise<E> {
    const entry = rules.get(event.type);
    if (!entry) return event;
    const subject = entry.rule.subject(event.data);
    let data = asObject(event.type, event.data);
    let erased = false;
    let sealedFields = 0;
    for (const path of entry.paths) {
      if (!sealedIn(entry.rule, path, event.schemaVersion)) continue;
      const value = getAt(data, path);
      if (value === null || value === undefined) continue;
      const field = path.join('.');
      const location = { streamId: event.streamId, eventId: event.eventId, type: event.type, field };
      if (typeof value !== 'string') throw new PersonalDataUnreadable(subject, 'malformed', location);
      sealedFields++;
      let plaintext: string | null;
      try {
        plaintext = await vault.decrypt(subject, value);
      } catch (error) {
        if (error instanceof PersonalDataUnreadable) {
          throw new PersonalDataUnreadable(error.subjectId, error.reason, location);
        }
        throw error;
      }
      if (plaintext === null) {
        erased = true;
        break;
      }
      data = setAt(data, path, plaintext);
    }
    if (!erased && sealedFields === 0) erased = await vault.isErased(subject);
    if (erased) {
      data = asObject(event.type, event.data);
      for (const path of entry.paths) {
        if (getAt(data, path) !== undefined) data = setAt(data, path, null);
      }
      data = { ...data, personalDataErased: true };
    }
    return data === event.data ? event : { ...event, data };
  }

  /**
   * Subscriptions woken by the same append share one read (see the PostgreSQL store's live batches): the same event
   * objects reach a dozen projections, and each opened them again, decrypting every sealed field a dozen times. Opened
   * once per event object instead: the same read at the same moment, so what an erasure hides is hidden alike.
   */
  const openedOnce = new WeakMap<RecordedEvent, Promise<RecordedEvent>>();
  function openOnce<E extends RecordedEvent>(event: E): Promise<E> {
    if (!rules.has(event.type)) return Promise.resolve(event);
    let opened = openedOnce.get(event) as Promise<E> | undefined;
    if (!opened) {
      opened = open(event);
      openedOnce.set(event, opened);
    }
    return opened;
  }

  return {
    async append(streamId, events, options) {
      const sealed = await Promise.all(events.map(seal));
      return store.append(streamId, sealed, options);
    },
    async *readStream(streamId: string, options?: ReadStreamOptions) {
      for await (const event of store.readStream(streamId, options)) yield await open(event);
    },
    async *readAll(options?: ReadAllOptions) {
      for await (const event of store.readAll(options)) yield await open(event);
    },
    subscribe(options?: SubscribeOptions): Subscription {
      const inner = store.subscribe(options);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const batch of inner) yield { ...batch, events: await Promise.all(batch.events.map(openOnce)) };
        },
        close: () => inner.close(),
      };
    },
    headPosition: () => store.headPosition(),
    settledPosition: () => store.settledPosition(),
    clockNow: () => store.clockNow(),
    close: () => store.close(),
  };
}

function parsePath(type: string, field: string): string[] {
  const path = field.split('.');
  if (path.some((segment) => segment === ''))
    throw new RangeError(`personal data policy of ${type}: bad path "${field}"`);
  return path;
}

function isObject(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(type: string, data: unknown): Data {
  if (!isObject(data)) throw new TypeError(`${type}: the personal data policy needs event data that is an object`);
  return data;
}

function getAt(data: Data, path: readonly string[]): unknown {
  let current: unknown = data;
  for (const segment of path) {
    if (!isObject(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

/** A copy with the value at `path` replaced; objects along the path are copied, nothing is mutated. */
function setAt(data: Data, path: readonly string[], value: unknown): Data {
  const [head, ...rest] = path;
  if (head === undefined) return data;
  if (rest.length === 0) return { ...data, [head]: value };
  const child = data[head];
  if (!isObject(child)) return data;
  return { ...data, [head]: setAt(child, rest, value) };
}
