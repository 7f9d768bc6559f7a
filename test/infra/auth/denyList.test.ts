import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessDenyList, type DeniableToken } from '../../../infra/auth/denyList.js';
import { deleteRedisKeys, REDIS_URL } from '../../support/redis.js';

describe('access deny list in Redis', () => {
  const prefix = `test-deny-${randomUUID().slice(0, 8)}`;
  let redis: Redis;
  let list: AccessDenyList;
  const nowMs = Date.now();
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
    list = new AccessDenyList(redis, 900, `${prefix}:`, () => nowMs);
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(prefix);
  });

  const token = (overrides: Partial<DeniableToken> = {}): DeniableToken => ({
    jti: randomUUID(),
    sub: randomUUID(),
    iat: Math.floor((nowMs - 60_000) / 1000),
    iat_ms: nowMs - 60_000,
    sid: randomUUID(),
    rev: '3',
    ...overrides,
  });

  it('answers many tokens at once exactly as it answers each alone, past one round trip of a thousand', async () => {
    const loggedOut = token();
    const revokedSession = token();
    const olderRevision = token({ rev: '1' });
    const allBefore = token();
    const noRevision = token({ rev: undefined });
    const noSession = token({ sid: undefined });
    await list.deny(loggedOut.jti, nowMs / 1000 + 600);
    await list.denySessions([revokedSession.sid!]);
    await list.denyRevisionsBelow(olderRevision.sub, 2n);
    await list.denyRevisionsBelow(noRevision.sub, 2n);
    await list.denyAllIssuedBefore(allBefore.sub, nowMs);
    const clean = Array.from({ length: 2_400 }, () => token());
    const tokens = [...clean.slice(0, 1_200), loggedOut, revokedSession, olderRevision, allBefore, noRevision];
    tokens.push(noSession, ...clean.slice(1_200));

    const together = await list.deniedAmong(tokens);
    const alone = await Promise.all(tokens.map((t) => list.isDenied(t)));

    expect(together).toEqual(alone);
    expect(together.filter(Boolean)).toHaveLength(5);
    expect(
      [loggedOut, revokedSession, olderRevision, allBefore, noRevision].map((t) => together[tokens.indexOf(t)]),
    ).toEqual([true, true, true, true, true]);
    expect(together[tokens.indexOf(noSession)]).toBe(false);
    expect(await list.deniedAmong([])).toEqual([]);
  });
});
