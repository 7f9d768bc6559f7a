import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** A stored blob's key: the lower-case hex SHA-256 of its bytes. */
export const FILE_KEY_PATTERN = /^[0-9a-f]{64}$/;

export const isFileKey = (key: string): boolean => FILE_KEY_PATTERN.test(key);

/** The key a blob of these bytes is stored under. */
export function fileKeyOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface StoredFile {
  key: string;
  size: number;
}

export interface FileContent {
  /** The blob's bytes, read as they are consumed; the caller must consume or destroy it. */
  body: Readable;
  /** As given to the first `put` of these bytes. */
  contentType: string;
  size: number;
}

/**
 * Content-addressed blob storage (photos and their thumbnails). A blob is named by the SHA-256 of
 * its bytes, so a key never changes meaning: readers may cache it forever. `put` is idempotent:
 * the same bytes give the same key and are stored once; the content type of the first `put` stays.
 */
export interface FileStore {
  /** Stores the bytes whole or not at all; `FileStoreFull` when the store has no room for them. */
  put(bytes: Uint8Array, contentType: string): Promise<StoredFile>;
  /** The blob, or null for a key that is unknown or not a key at all. */
  get(key: string): Promise<FileContent | null>;
  exists(key: string): Promise<boolean>;
  /** Every stored blob with the time it was stored: what a clean-up walks. */
  list(): AsyncIterable<{ key: string; storedAt: Date }>;
  /** Removes a blob; an unknown key is ignored. */
  delete(key: string): Promise<void>;
}

/** The store has no room for a file (disk or quota full): nothing of it was kept, and a later `put` may succeed. */
export class FileStoreFull extends Error {
  constructor(cause: unknown) {
    super(`the file store is full: ${(cause as Error).message}`, { cause });
    this.name = 'FileStoreFull';
  }
}
