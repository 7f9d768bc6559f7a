import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Presence } from './presence.js';

/**
 * Per person a sorted set `<prefix>:presence:<userId>` of the API processes holding a socket of theirs, each
 * scored with the moment (Redis time, ms) its heartbeat expires. Each process counts its own sockets per
 * person and is one member however many it holds. Times are Redis's own (`TIME`), so every process agrees
 * whatever its clock says.
 */
const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] the person's set; ARGV[1] this process, ARGV[2] ttl ms. Returns the live members before. */
const OPEN = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local before = redis.call('ZCARD', KEYS[1]) - (redis.call('ZSCORE', KEYS[1], ARGV[1]) and 1 or 0)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return before`;

/** Returns the live members after withdrawing this process. */
const CLOSE = `${NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])`;

const BEAT = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

const ONLINE = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;

type PresenceRedis = Redis & {
  presenceOpen(key: string, member: string, ttlMs: number): Promise<number>;
  presenceClose(key: string, member: string): Promise<number>;
  presenceBeat(key: string, member: string, ttlMs: number): Promise<number>;
  presenceOnline(key: string): Promise<number>;
};

export interface RedisPresenceOptions {
  /** Key namespace (QUEUE_PREFIX: processes of one deployment share it). */
  prefix: string;
  /** How often this process renews its members (the TTL is two and a half of these). */
  heartbeatMs: number;
}

export class RedisPresence implements Presence {
  private readonly redis: PresenceRedis;
  private readonly member = randomUUID();
  private readonly local = new Map<string, number>();
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    redis: Redis,
    private readonly options: RedisPresenceOptions,
  ) {
    this.ttlMs = Math.ceil(options.heartbeatMs * 2.5);
    const commands = redis as PresenceRedis;
    if (!('presenceOpen' in commands)) {
      redis.defineCommand('presenceOpen', { numberOfKeys: 1, lua: OPEN });
      redis.defineCommand('presenceClose', { numberOfKeys: 1, lua: CLOSE });
      redis.defineCommand('presenceBeat', { numberOfKeys: 1, lua: BEAT });
      redis.defineCommand('presenceOnline', { numberOfKeys: 1, lua: ONLINE });
    }
    this.redis = commands;
  }

  private key(userId: string): string {
    return `${this.options.prefix}:presence:${userId}`;
  }

  async isOnline(userId: string): Promise<boolean> {
    return (await this.redis.presenceOnline(this.key(userId))) > 0;
  }

  async socketOpened(userId: string): Promise<boolean> {
    const count = (this.local.get(userId) ?? 0) + 1;
    this.local.set(userId, count);
    this.startHeartbeat();
    if (count > 1) return false;
    return (await this.redis.presenceOpen(this.key(userId), this.member, this.ttlMs)) === 0;
  }

  async socketClosed(userId: string): Promise<boolean> {
    const count = (this.local.get(userId) ?? 0) - 1;
    if (count > 0) {
      this.local.set(userId, count);
      return false;
    }
    this.local.delete(userId);
    return (await this.redis.presenceClose(this.key(userId), this.member)) === 0;
  }

  private startHeartbeat(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    if (this.local.size === 0) return;
    const pipeline = this.redis.pipeline() as unknown as {
      presenceBeat(key: string, member: string, ttlMs: number): void;
      exec(): Promise<unknown>;
    };
    for (const userId of this.local.keys()) pipeline.presenceBeat(this.key(userId), this.member, this.ttlMs);
    await pipeline.exec().catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const users = [...this.local.keys()];
    this.local.clear();
    if (users.length === 0) return;
    const pipeline = this.redis.pipeline() as unknown as {
      presenceClose(key: string, member: string): void;
      exec(): Promise<unknown>;
    };
    for (const userId of users) pipeline.presenceClose(this.key(userId), this.member);
    await pipeline.exec().catch(() => undefined);
  }
}
