import { randomUUID } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { type Role, Roles } from '../../domain/shared/decider.js';

export interface AccessClaims {
  sub: string;
  email: string;
  role: Role;
  iat: number;
  /** Issue time in milliseconds: `iat` has whole seconds, too coarse to order against a revocation. */
  iat_ms?: number;
  exp: number;
  jti: string;
  /** The session (refresh-token family) this token belongs to: logout and revocation end it. */
  sid?: string;
  /** Revision of the person's stream the role was read from (decimal): a role change denies older ones. */
  rev?: string;
}

/** What a token says of its holder when it is signed. */
export interface TokenSubject {
  sub: string;
  email: string;
  role: Role;
  jti?: string;
  sid?: string;
  rev?: bigint | null;
}

export interface TokenSettings {
  secret: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export class InvalidToken extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'InvalidToken';
  }
}

export function accessTokenSigner(settings: TokenSettings) {
  const sign = createSigner({
    key: settings.secret,
    algorithm: 'HS256',
    iss: settings.issuer,
    aud: settings.audience,
    expiresIn: settings.ttlSeconds * 1000,
  });
  return (claims: TokenSubject): string =>
    sign({
      sub: claims.sub,
      email: claims.email,
      role: claims.role,
      jti: claims.jti ?? randomUUID(),
      iat_ms: Date.now(),
      ...(claims.sid ? { sid: claims.sid } : {}),
      ...(claims.rev !== undefined && claims.rev !== null ? { rev: claims.rev.toString() } : {}),
    });
}

/** Verifies signature (HS256 only: `alg: none` and other algorithms are refused), issuer, audience, expiry and claims. */
export function accessTokenVerifier(settings: TokenSettings) {
  const verify = createVerifier({
    key: settings.secret,
    algorithms: ['HS256'],
    allowedIss: settings.issuer,
    allowedAud: settings.audience,
    requiredClaims: ['sub', 'role', 'iat', 'exp', 'jti'],
    cache: 1000,
  });
  return (token: string): AccessClaims => {
    let payload: Record<string, unknown>;
    try {
      payload = verify(token) as Record<string, unknown>;
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'FAST_JWT_INVALID';
      throw new InvalidToken(
        code === 'FAST_JWT_EXPIRED' ? 'the access token has expired' : 'the access token is not valid',
        code,
      );
    }
    if (
      typeof payload.sub !== 'string' ||
      !(Roles as readonly string[]).includes(payload.role as string) ||
      (payload.rev !== undefined && !(typeof payload.rev === 'string' && /^\d{1,19}$/.test(payload.rev))) ||
      (payload.sid !== undefined && typeof payload.sid !== 'string')
    ) {
      throw new InvalidToken('the access token is not valid', 'BAD_CLAIMS');
    }
    return payload as unknown as AccessClaims;
  };
}
