import type { Redis } from 'ioredis';

/**
 * Access tokens that must stop working before they expire, in Redis: one token by its `jti`
 * (logout), or every token of a person issued before a moment (role change, erasure), each kept
 * only as long as such a token could still be alive.
 */
export class AccessDenyList {
  constructor(
    private readonly redis: Redis,
    /** The longest an access token lives (ACCESS_TOKEN_TTL_SECONDS). */
    private readonly tokenTtlSeconds: number,
    private readonly prefix = 'roomline:denied:',
  ) {}

  async deny(jti: string, expiresAtSeconds: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(expiresAtSeconds - Date.now() / 1000));
    await this.redis.set(`${this.prefix}jti:${jti}`, '1', 'EX', ttl);
  }

  /** Every token of this person issued up to now stops working (they sign in or refresh again). */
  async denyAllIssuedBefore(userId: string, nowMs = Date.now()): Promise<void> {
    await this.redis.set(`${this.prefix}user:${userId}`, String(nowMs), 'EX', this.tokenTtlSeconds + 60);
  }

  async isDenied(token: { jti: string; sub: string; iat: number; iat_ms?: number }): Promise<boolean> {
    const [jti, before] = await this.redis.mget(`${this.prefix}jti:${token.jti}`, `${this.prefix}user:${token.sub}`);
    // Without the millisecond claim, a token of the same second counts as issued before.
    const issuedMs = token.iat_ms ?? token.iat * 1000 + 999;
    return jti !== null || (before !== null && issuedMs < Number(before));
  }
}
