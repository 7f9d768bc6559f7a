import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigSchema } from '../../infra/config/config.js';

/** docker-compose.yml against the config schema: the production topology must start with what the app reads. */

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  'x-healthcheck-exception'?: string;
}

const composeText = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
// merge: docker compose resolves YAML merge keys (<<: *anchor); so must the test.
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

const BACKING = ['eventstore', 'postgres', 'redis', 'meilisearch', 'clickhouse', 'mailpit'] as const;
const APP = { api: 'api', projector: 'projector', worker: 'worker' } as const;
/** App services that may go without a healthcheck when they say why (they serve no HTTP endpoint). */
const HEALTHCHECK_EXCEPTIONS = new Set(['projector', 'worker']);

const schemaKeys = new Set(Object.keys(ConfigSchema.properties));
const requiredWithoutDefault = (ConfigSchema.required ?? []).filter(
  (key) => (ConfigSchema.properties as Record<string, { default?: unknown }>)[key]?.default === undefined,
);

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf('=');
        return at === -1 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value == null ? '' : String(value)]));
}

function dependenciesOf(service: Service): Record<string, string | undefined> {
  const deps = service.depends_on ?? [];
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([name, spec]) => [name, spec?.condition]));
}

function hasHealthcheck(service: Service): boolean {
  const check = service.healthcheck;
  if (!check || check.disable) return false;
  const test = Array.isArray(check.test) ? check.test : [check.test ?? ''];
  return test.length > 0 && test[0] !== 'NONE' && test.join(' ').trim() !== '';
}

describe('docker-compose.yml', () => {
  it('defines every backing service the app needs', () => {
    for (const name of BACKING) expect(services, `service ${name}`).toHaveProperty(name);
    expect(services.eventstore?.image).toMatch(/^(eventstore\/eventstore|docker\.kurrent\.io\/.*kurrentdb)/);
    expect(services.postgres?.image).toMatch(/^postgis\/postgis:15-3/);
    expect(services.redis?.image).toMatch(/^redis:7/);
    expect(services.meilisearch?.image).toMatch(/^getmeili\/meilisearch:/);
    expect(services.clickhouse?.image).toMatch(/^clickhouse\/clickhouse-server:/);
    expect(services.mailpit?.image).toMatch(/^axllent\/mailpit/);
  });

  for (const [name, processName] of Object.entries(APP)) {
    describe(`app service ${name}`, () => {
      const service = services[name];

      it('builds from the repository Dockerfile', () => {
        expect(service, `service ${name}`).toBeDefined();
        const build = service!.build;
        const context = typeof build === 'string' ? build : build?.context;
        const dockerfile = typeof build === 'object' ? (build.dockerfile ?? 'Dockerfile') : 'Dockerfile';
        expect(context).toBe('.');
        expect(dockerfile).toBe('Dockerfile');
      });

      it(`runs ROOMLINE_PROCESS=${processName}`, () => {
        expect(environmentOf(service!).ROOMLINE_PROCESS).toBe(processName);
      });

      it('waits for every backing service to be healthy', () => {
        const deps = dependenciesOf(service!);
        for (const backing of BACKING) expect(deps[backing], `${name} depends_on ${backing}`).toBe('service_healthy');
      });

      it('sets only variables of the config schema', () => {
        const unknown = Object.keys(environmentOf(service!)).filter((key) => !schemaKeys.has(key));
        expect(unknown, `not in ConfigSchema: ${unknown.join(', ')}`).toEqual([]);
      });

      it('sets every required variable that has no default', () => {
        const env = environmentOf(service!);
        expect(requiredWithoutDefault).toContain('JWT_SECRET');
        for (const key of requiredWithoutDefault) expect(env[key], `${name} sets ${key}`).toBeTruthy();
      });

      it('uses the production adapters with their connection settings', () => {
        const env = environmentOf(service!);
        expect(env.EVENT_STORE).toBe('esdb');
        expect(env.EVENTSTORE_URL).toMatch(/^(esdb|kurrentdb):\/\/eventstore:2113/);
        expect(env.DATABASE_URL).toMatch(/^postgres(ql)?:\/\/.*@postgres:5432\//);
        expect(env.REDIS_URL).toMatch(/^redis:\/\/redis:6379/);
        expect(env.SEARCH_BACKEND).toBe('meilisearch');
        expect(env.MEILI_URL).toMatch(/^http:\/\/meilisearch:7700/);
        expect(env.MEILI_MASTER_KEY).toBeTruthy();
        expect(env.ANALYTICS_BACKEND).toBe('clickhouse');
        expect(env.CLICKHOUSE_URL).toMatch(/^http:\/\/.*clickhouse:8123/);
        expect(env.SMTP_URL).toMatch(/^smtp:\/\/mailpit:1025/);
        // The secret comes from the operator, never from the file.
        expect(env.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?.+\}$/);
      });
    });
  }

  it('gives every service a healthcheck, except app processes that say why they have none', () => {
    for (const [name, service] of Object.entries(services)) {
      if (hasHealthcheck(service)) continue;
      expect(HEALTHCHECK_EXCEPTIONS.has(name), `${name} has no healthcheck`).toBe(true);
      expect(service['x-healthcheck-exception'], `${name}: x-healthcheck-exception gives the reason`).toMatch(/\w{3,}/);
    }
  });

  it('checks the api through its liveness endpoint on port 3000', () => {
    const test = services.api?.healthcheck?.test;
    expect(Array.isArray(test) ? test.join(' ') : test).toContain('http://127.0.0.1:3000/health/live');
  });
});
