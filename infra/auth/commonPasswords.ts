import { dictionary } from '@zxcvbn-ts/language-common';

let common: ReadonlySet<string> | undefined;

function normalise(password: string): string {
  return password.normalize('NFKC').toLowerCase();
}

/**
 * Whether `password` is on zxcvbn-ts's list of common passwords (about 49,000 entries from
 * breach corpora, MIT licensed), compared after NFKC normalisation and lower-casing. The set is
 * built on first use (about 30 ms) so that importing this module costs only the package's load.
 */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(dictionary['passwords-common'].map(normalise));
  return common.has(normalise(password));
}
