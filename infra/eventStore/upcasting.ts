import type { Upcaster } from '../../domain/shared/upcaster.js';
import type {
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from './eventStore.js';

/** Upcasters by event type and the version they read from. */
export class UpcasterRegistry {
  private readonly byType = new Map<string, Map<number, Upcaster>>();

  constructor(upcasters: readonly Upcaster[] = []) {
    for (const upcaster of upcasters) this.register(upcaster);
  }

  register(upcaster: Upcaster): void {
    const versions = this.byType.get(upcaster.type) ?? new Map<number, Upcaster>();
    if (versions.has(upcaster.fromVersion)) {
      throw new Error(`two upcasters for ${upcaster.type} v${upcaster.fromVersion}`);
    }
    versions.set(upcaster.fromVersion, upcaster);
    this.byType.set(upcaster.type, versions);
  }

  /** The event as its newest known schema version; untouched when nothing is registered for it. */
  upcast<E extends RecordedEvent>(event: E): E {
    const versions = this.byType.get(event.type);
    if (!versions) return event;
    let data = event.data;
    let version = event.schemaVersion;
    for (let step = versions.get(version); step; step = versions.get(version)) {
      data = step.upcast(data);
      version++;
    }
    return version === event.schemaVersion ? event : { ...event, data, schemaVersion: version };
  }
}

/**
 * The store as the application reads it: every event passes through the upcasters. Appends and the
 * hash chain are untouched; auditors read the raw store to see events as they were written.
 */
export function withUpcasting(store: EventStore, registry: UpcasterRegistry): EventStore {
  return {
    append: (streamId, events, options) => store.append(streamId, events, options),
    async *readStream(streamId: string, options?: ReadStreamOptions) {
      for await (const event of store.readStream(streamId, options)) yield registry.upcast(event);
    },
    async *readAll(options?: ReadAllOptions) {
      for await (const event of store.readAll(options)) yield registry.upcast(event);
    },
    subscribe(options?: SubscribeOptions): Subscription {
      const inner = store.subscribe(options);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const batch of inner) yield { ...batch, events: batch.events.map((e) => registry.upcast(e)) };
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
