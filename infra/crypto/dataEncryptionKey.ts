/** Bytes of the key-encryption key (AES-256). */
export const DATA_ENCRYPTION_KEY_BYTES = 32;

/**
 * Why a `DATA_ENCRYPTION_KEY` value is unusable, or undefined when it is base64 of exactly 32 bytes.
 * The message never repeats the value.
 */
export function dataEncryptionKeyProblem(value: string): string | undefined {
  const hint = 'expected base64 of exactly 32 random bytes, e.g. from `openssl rand -base64 32`';
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return `not base64; ${hint}`;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== DATA_ENCRYPTION_KEY_BYTES) return `decodes to ${bytes.length} bytes; ${hint}`;
  if (bytes.toString('base64') !== value) return `not canonical base64; ${hint}`;
  return undefined;
}

/** The key-encryption key as bytes; throws a RangeError (without the value) when it is unusable. */
export function parseDataEncryptionKey(value: string): Buffer {
  const problem = dataEncryptionKeyProblem(value);
  if (problem) throw new RangeError(`DATA_ENCRYPTION_KEY: ${problem}`);
  return Buffer.from(value, 'base64');
}
