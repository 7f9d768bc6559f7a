import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';

/** Signs ledger digests (Ed25519), so that an auditor can show later that a digest came from this deployment. */
export interface LedgerSigner {
  /** The public key, raw 32 bytes as base64url: what an auditor checks a signature with. */
  readonly publicKey: string;
  /** Ed25519 signature of the UTF-8 text, base64url. */
  sign(text: string): string;
  verify(text: string, signature: string): boolean;
}

/** PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): the fixed prefix, then the 32 bytes. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A signer from a 32-byte seed (AUDIT_SIGNING_KEY, or one derived from DATA_ENCRYPTION_KEY). */
export function createLedgerSigner(seed: Buffer): LedgerSigner {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey);
  const raw = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
  return {
    publicKey: raw,
    sign: (text) => sign(null, Buffer.from(text, 'utf8'), privateKey).toString('base64url'),
    verify: (text, signature) => {
      const bytes = Buffer.from(signature, 'base64url');
      return bytes.length === 64 && verify(null, Buffer.from(text, 'utf8'), publicKey, bytes);
    },
  };
}
