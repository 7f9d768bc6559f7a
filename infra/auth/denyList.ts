import type { Redis } from 'ioredis';
import type { DeniableToken, DenyList } from './ports.js';

export type { DeniableToken } from './ports.js';

/** Raises a key's value, never lowers it, so concurrent role changes cannot undo one another. */
const RAISE = `
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1`;

/**
 * Access tokens that must stop working before they expire, in Redis, so every API process sees it on the
 * next request: one token by its `jti` (logout), a whole session by its `sid` (logout, a revoked family),
 * every token of a person whose claims were read before a revision of their stream (role change, erasure:
 * race-free against a refresh that read the old role), or every token of a person issued before a moment
 * (password reset). Each entry is kept only as long as such a token could still be alive.
 */
export class AccessDenyList implements DenyList {
  constructor(
    private readonly redis: Redis,
    /** The longest an access token lives (ACCESS_TOKEN_TTL_SECONDS). */
    private readonly tokenTtlSeconds: number,
    private readonly prefix = 'roomline:denied:',
    private readonly nowMs: () => number = Date.now,
  ) {}

  private get keep(): number {
    return this.tokenTtlSeconds + 60;
  }

  async deny(jti: string, expiresAtSeconds: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(expiresAtSeconds - this.nowMs() / 1000));
    await this.redis.set(`${this.prefix}jti:${jti}`, '1', 'EX', ttl);
  }

  /** Every access token of these sessions stops working, including ones a refresh in flight is signing. */
  async denySessions(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const multi = this.redis.multi();
    for (const sid of sessionIds) multi.set(`${this.prefix}sid:${sid}`, '1', 'EX', this.keep);
    await multi.exec();
  }

  /**
   * Every token of this person whose claims were read before `revision` of their stream stops working. A
   * token that carries no revision (signed before tokens had one) stops working if it was issued before now.
   */
  async denyRevisionsBelow(userId: string, revision: bigint): Promise<void> {
    await this.redis.eval(RAISE, 1, `${this.prefix}rev:${userId}`, revision.toString(), String(this.keep));
    await this.redis.eval(RAISE, 1, `${this.prefix}rev-at:${userId}`, String(this.nowMs()), String(this.keep));
  }

  /** Every token of this person issued up to now stops working (they sign in or refresh again). */
  async denyAllIssuedBefore(userId: string, nowMs = this.nowMs()): Promise<void> {
    await this.redis.eval(RAISE, 1, `${this.prefix}user:${userId}`, String(nowMs), String(this.keep));
  }

  async isDenied(token: DeniableToken): Promise<boolean> {
    const [denied] = await this.deniedAmong([token]);
    return denied!;
  }

  /** `isDenied` of many tokens (every open socket of a process) in one round trip per thousand. */
  async deniedAmong(tokens: readonly DeniableToken[]): Promise<boolean[]> {
    const answers: boolean[] = [];
    for (let from = 0; from < tokens.length; from += 1000) {
      const chunk = tokens.slice(from, from + 1000);
      const keys = chunk.flatMap((token) => this.keysOf(token));
      const values = keys.length > 0 ? await this.redis.mget(...keys) : [];
      for (const token of chunk) answers.push(this.decide(token, values.splice(0, KEYS_PER_TOKEN)));
    }
    return answers;
  }

  /** Always KEYS_PER_TOKEN keys: a token without a session asks for an `sid:` key no one sets. */
  private keysOf(token: DeniableToken): string[] {
    return [
      `${this.prefix}jti:${token.jti}`,
      `${this.prefix}user:${token.sub}`,
      `${this.prefix}rev:${token.sub}`,
      `${this.prefix}rev-at:${token.sub}`,
      `${this.prefix}sid:${token.sid ?? ''}`,
    ];
  }

  private decide(token: DeniableToken, values: readonly (string | null)[]): boolean {
    const [jti = null, before = null, minRevision = null, revisionAt = null, sessionValue = null] = values;
    const session = token.sid ? sessionValue : null;
    if (jti !== null || session !== null) return true;
    // Without the millisecond claim, a token of the same second counts as issued before.
    const issuedMs = token.iat_ms ?? token.iat * 1000 + 999;
    if (before !== null && issuedMs < Number(before)) return true;
    if (token.rev !== undefined) return minRevision !== null && BigInt(token.rev) < BigInt(minRevision);
    // A token without a revision (signed before tokens carried one): issued before the change, it is denied.
    return revisionAt !== null && issuedMs < Number(revisionAt);
  }
}

const KEYS_PER_TOKEN = 5;
