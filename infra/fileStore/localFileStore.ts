import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type FileContent, type FileStore, FileStoreFull, fileKeyOf, isFileKey, type StoredFile } from './fileStore.js';

interface Meta {
  contentType: string;
  size: number;
}

/**
 * Blobs on local disk: `<root>/<aa>/<hash>` with the content type beside it in `<hash>.json`.
 * Each file is written to a temporary name, flushed, then renamed into place, so a reader never
 * sees half a file and concurrent writers of the same bytes simply replace each other's equal copy.
 * The metadata goes in first: a blob that exists always has its content type.
 */
export class LocalFileStore implements FileStore {
  constructor(private readonly root: string) {}

  private blobPath(key: string): string {
    return join(this.root, key.slice(0, 2), key);
  }

  private metaPath(key: string): string {
    return `${this.blobPath(key)}.json`;
  }

  async put(bytes: Uint8Array, contentType: string): Promise<StoredFile> {
    const key = fileKeyOf(bytes);
    const stored = { key, size: bytes.byteLength };
    if (await this.exists(key)) return stored;
    await mkdir(join(this.root, key.slice(0, 2)), { recursive: true }).catch(asFull);
    const meta: Meta = { contentType, size: bytes.byteLength };
    await writeAtomically(this.metaPath(key), Buffer.from(JSON.stringify(meta)));
    await writeAtomically(this.blobPath(key), bytes);
    return stored;
  }

  async get(key: string): Promise<FileContent | null> {
    if (!isFileKey(key)) return null;
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.blobPath(key), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      const meta = JSON.parse(await readFile(this.metaPath(key), 'utf8')) as Meta;
      const { size } = await handle.stat();
      return { body: handle.createReadStream(), contentType: meta.contentType, size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Both halves present: a blob whose metadata a clean-up removed is stored again in full by `put`. */
  async exists(key: string): Promise<boolean> {
    if (!isFileKey(key)) return false;
    try {
      await access(this.blobPath(key), constants.F_OK);
      await access(this.metaPath(key), constants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  async *list(): AsyncIterable<{ key: string; storedAt: Date }> {
    let folders: string[];
    try {
      folders = await readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const folder of folders.filter((name) => /^[0-9a-f]{2}$/.test(name)).sort()) {
      for (const name of (await readdir(join(this.root, folder))).sort()) {
        if (!isFileKey(name)) continue; // metadata and temporary files
        try {
          const { mtime } = await stat(join(this.root, folder, name));
          yield { key: name, storedAt: mtime };
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted meanwhile
        }
      }
    }
  }

  async delete(key: string): Promise<void> {
    if (!isFileKey(key)) return;
    await rm(this.blobPath(key), { force: true });
    await rm(this.metaPath(key), { force: true });
  }
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    const handle = await open(temporary, 'wx', 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    // The half-written temporary file goes; nothing was renamed into place.
    await rm(temporary, { force: true });
    asFull(error);
  }
}

/** Rethrows a disk-full or over-quota error as the port's `FileStoreFull`, anything else as it is. */
function asFull(error: unknown): never {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') throw new FileStoreFull(error);
  throw error;
}
