import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalFileStore } from '../../../infra/fileStore/localFileStore.js';
import { fileStoreContract } from '../../contracts/fileStore.contract.js';

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

fileStoreContract('local disk', async () => {
  const root = await mkdtemp(join(tmpdir(), 'roomline-files-'));
  return {
    store: new LocalFileStore(root),
    openAnother: async () => new LocalFileStore(root),
    copiesOf: async (key) => (await filesUnder(root)).filter((path) => path.endsWith(`/${key}`)).length,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('local file store layout', () => {
  it('writes <root>/<aa>/<hash> and its metadata, and leaves no temporary file behind', async () => {
    const root = await mkdtemp(join(tmpdir(), 'roomline-files-'));
    try {
      const store = new LocalFileStore(join(root, 'files'));
      const { key } = await store.put(Buffer.from('hello'), 'text/plain');
      await Promise.all(Array.from({ length: 8 }, () => store.put(Buffer.from('world'), 'text/plain')));
      const files = (await filesUnder(root)).map((path) => path.slice(root.length + 1)).sort();
      expect(files).toContain(`files/${key.slice(0, 2)}/${key}`);
      expect(files).toContain(`files/${key.slice(0, 2)}/${key}.json`);
      expect(files.filter((path) => path.endsWith('.tmp'))).toEqual([]);
      expect(files).toHaveLength(4);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
