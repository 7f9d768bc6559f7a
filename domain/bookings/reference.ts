/** Letters and digits people do not confuse when they read a reference aloud (no 0/O, 1/I/L, 5/S, 8/B). */
export const REFERENCE_ALPHABET = '234679ACDEFGHJKMNPQRTUVWXYZ';

/**
 * A booking reference such as `RL-7K3M9Q` from six random values in [0, 1) supplied by the caller
 * (the domain makes no randomness of its own). Uniqueness is reserved on the write side.
 */
export function bookingReference(random: readonly number[]): string {
  if (random.length !== 6) throw new RangeError('a reference takes six random values');
  return `RL-${random.map((r) => REFERENCE_ALPHABET[Math.floor(r * REFERENCE_ALPHABET.length)]).join('')}`;
}

/**
 * The reference derived from a digest (at least 6 bytes) of the booking id: the same booking always gets the same
 * candidate, so a retried request claims the reference it claimed before. Each byte picks a letter (a slight bias
 * towards the first 13 letters: 256 = 9 × 27 + 13; harmless for a name).
 */
export function referenceFromDigest(digest: Uint8Array): string {
  if (digest.length < 6) throw new RangeError('a reference takes a digest of six bytes or more');
  return `RL-${Array.from(digest.subarray(0, 6), (byte) => REFERENCE_ALPHABET[byte % REFERENCE_ALPHABET.length]).join('')}`;
}

export const referenceStreamId = (reference: string) => `BookingReference-${reference}`;
