import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The dependency rules of ARCHITECTURE.md §2 and §7, by a scan of the source files' imports (static, re-exports,
 * dynamic and type-only alike: a type import of an adapter couples as much as a value import).
 */

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));

/**
 * Adapter modules: only the composition root (infra/runtime.ts, infra/main.ts) and tests import them. Their ports
 * are the small interface modules beside them (infra/eventStore/eventStore.ts, infra/search/roomSearchIndex.ts,
 * infra/mail/mailer.ts, infra/geocoding/geocoder.ts, infra/fileStore/fileStore.ts, infra/auth/ports.ts).
 */
const ADAPTERS: readonly RegExp[] = [
  /^infra\/eventStore\/(postgres|esdb|memory)\//,
  /^infra\/search\/(postgres|meilisearch)\//,
  /^infra\/mail\/transports\.ts$/,
  /^infra\/geocoding\/(?!geocoder\.ts$)/,
  /^infra\/fileStore\/localFileStore\.ts$/,
  /^infra\/auth\/(sessions|credentials|denyList|passwordResets)\.ts$/,
  /^infra\/crypto\/(personalDataVault|personalDataStore)\.ts$/,
  /^infra\/analytics\/(chdb|clickhouse)\//,
  /^infra\/analytics\/createAnalyticsStore\.ts$/,
  // The composition root itself.
  /^infra\/(runtime|main)\.ts$/,
];

/** The layers that import ports and domain only. */
const PORT_USERS = ['commands', 'projections', 'read-api', 'workers'] as const;

function sourceFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every module a file imports: repository paths for relative imports (`.js` written, `.ts` on disk), else the specifier. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
  return [...text.matchAll(IMPORT)].map((match) => {
    const specifier = (match[1] ?? match[2])!;
    if (!specifier.startsWith('.')) return specifier;
    return relative(root, join(root, dirname(file), specifier)).replace(/\.js$/, '.ts');
  });
}

describe('dependency rules', () => {
  it('finds the imports it checks (the scan itself works)', () => {
    expect(importsOf('workers/maintenance.ts')).toContain('infra/fileStore/fileStore.ts');
    expect(importsOf('infra/runtime.ts')).toContain('infra/eventStore/postgres/postgresEventStore.ts');
    expect(ADAPTERS.some((adapter) => adapter.test('infra/auth/sessions.ts'))).toBe(true);
    expect(ADAPTERS.some((adapter) => adapter.test('infra/geocoding/geocoder.ts'))).toBe(false);
    expect(ADAPTERS.some((adapter) => adapter.test('infra/geocoding/createGeocoder.ts'))).toBe(true);
  });

  it('commands/, projections/, read-api/ and workers/ import ports and domain, never an adapter', () => {
    const offending = PORT_USERS.flatMap((folder) => sourceFiles(folder))
      .flatMap((file) => importsOf(file).map((imported) => ({ file, imported })))
      .filter(({ imported }) => ADAPTERS.some((adapter) => adapter.test(imported)))
      .map(({ file, imported }) => `${file} imports ${imported}`);
    expect(offending).toEqual([]);
  });

  it('domain/ imports only domain/: no I/O, no node: module, no framework or driver package', () => {
    const offending = sourceFiles('domain')
      .flatMap((file) => importsOf(file).map((imported) => ({ file, imported })))
      .filter(({ imported }) => !imported.startsWith('domain/'))
      .map(({ file, imported }) => `${file} imports ${imported}`);
    expect(offending).toEqual([]);
  });
});
