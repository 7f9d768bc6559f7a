import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one process; its own registry, so several apps can live in one test process. */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  appendDuration: Histogram<never>;
  appendedEvents: Counter<never>;
  projectionLag: Gauge<'projection'>;
  projectionLagSeconds: Gauge<'projection'>;
}

/**
 * `collectLag` runs on every scrape: it must cost the same whatever the lag (projections/status.ts
 * `projectionLag`: the head and the checkpoints, no event read).
 */
export function createMetrics(
  collectLag?: () => Promise<Array<{ name: string; positionsBehind: number; lagMs: number }>>,
): Metrics {
  const registry = new Registry();
  // One reading for both lag gauges, which a scrape collects at the same time: shared while it is being read, never
  // after (kept for a second, it showed a scrape the lag of the one before: 0 with 20,000 events just appended).
  let lag: ReturnType<NonNullable<typeof collectLag>> | undefined;
  const readLag = () => {
    lag ??= collectLag!().finally(() => {
      lag = undefined;
    });
    return lag;
  };
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const appendDuration = new Histogram({
    name: 'event_store_append_duration_seconds',
    help: 'latency of event store appends, from call to commit',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const appendedEvents = new Counter({
    name: 'event_store_appended_events_total',
    help: 'events appended',
    registers: [registry],
  });
  const projectionLag = new Gauge({
    name: 'projection_lag_positions',
    help: 'store positions between the head and the projection checkpoint (positions have gaps: at most this many events left)',
    labelNames: ['projection'] as const,
    registers: [registry],
    async collect() {
      if (!collectLag) return;
      try {
        for (const { name, positionsBehind } of await readLag()) this.set({ projection: name }, positionsBehind);
      } catch {
        // A scrape must not fail because the database is briefly away; the gauge keeps its last value.
      }
    },
  });
  const projectionLagSeconds = new Gauge({
    name: 'projection_lag_seconds',
    help: 'age of the first event after the projection checkpoint (0 when caught up): how stale its reads may be',
    labelNames: ['projection'] as const,
    registers: [registry],
    async collect() {
      if (!collectLag) return;
      try {
        for (const { name, lagMs } of await readLag()) this.set({ projection: name }, lagMs / 1000);
      } catch {
        // As above.
      }
    },
  });
  return { registry, httpDuration, appendDuration, appendedEvents, projectionLag, projectionLagSeconds };
}
