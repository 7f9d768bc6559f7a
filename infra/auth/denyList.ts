import type { Redis } from 'ioredis';

/** Access tokens revoked before they expire (logout), by `jti`, in Redis until their own expiry. */
export class AccessDenyList {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'roomline:denied-jti:',
  ) {}

  async deny(jti: string, expiresAtSeconds: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(expiresAtSeconds - Date.now() / 1000));
    await this.redis.set(`${this.prefix}${jti}`, '1', 'EX', ttl);
  }

  async isDenied(jti: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}${jti}`)) === 1;
  }
}
