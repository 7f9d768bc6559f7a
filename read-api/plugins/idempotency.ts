import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { canonicalJson } from '../../infra/eventStore/hashChain.js';
import { ApiError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route's answers are never stored (they hold tokens or personal data). */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    /** Set when the request carries an Idempotency-Key it is the first to use. */
    idempotency: Claim | null;
  }
}

/** A request's claim on its Idempotency-Key: the row of `idempotency_keys` it holds until its answer is stored. */
interface Claim {
  scope: string;
  key: string;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

/**
 * API.md: "the same key from the same user returns the first response again and appends nothing
 * new". The first request claims the key; its answer (below 500, but not 429) is stored and replayed to retries;
 * a retry while the first still runs gets 409; the same key with another request gets 422.
 * Commands also derive their event ids from the key, so a crash between append and storing the
 * answer cannot append twice either.
 */
export function registerIdempotency(app: FastifyInstance, pool: pg.Pool): void {
  app.decorateRequest('idempotency', null);

  const releaseClaim = (claim: Claim) =>
    pool.query('DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status_code IS NULL', [
      claim.scope,
      claim.key,
    ]);
  /**
   * Claims this process must give up but could not (PostgreSQL was down: the very outage that made the request fail
   * with 503). Left in the table, each would answer its client's retries 409 for the minute a claim of a dead process
   * waits; they are released as soon as PostgreSQL answers again, and only while still unfinished.
   */
  const unreleased = new Map<string, Claim>();
  let releaseTimer: NodeJS.Timeout | undefined;
  const retryReleases = () => {
    if (releaseTimer) return;
    releaseTimer = setTimeout(async () => {
      releaseTimer = undefined;
      for (const [id, claim] of unreleased) {
        try {
          await releaseClaim(claim);
          unreleased.delete(id);
        } catch {
          break;
        }
      }
      if (unreleased.size > 0) retryReleases();
    }, 250);
    releaseTimer.unref();
  };
  const releaseLater = (claim: Claim) => {
    unreleased.set(`${claim.scope}\n${claim.key}`, claim);
    retryReleases();
  };
  const release = (claim: Claim) => releaseClaim(claim).catch(() => releaseLater(claim));
  app.addHook('onClose', async () => clearTimeout(releaseTimer));

  const claimKey = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!WRITE_METHODS.has(request.method) || request.routeOptions.config?.idempotent === false) return;
    const header = request.headers['idempotency-key'];
    if (header === undefined) return;
    if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
      throw new ApiError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 200 visible ASCII characters');
    }
    const scope = request.user ? `user:${request.user.sub}` : 'anonymous';
    const requestHash = createHash('sha256')
      .update(`${request.method} ${request.url}\n${canonicalJson(request.body ?? null)}`)
      .digest('hex');
    // A claim left unfinished for a minute (its process died mid-request) may be taken over.
    let claimed: pg.QueryResult;
    try {
      claimed = await pool.query(
        `INSERT INTO idempotency_keys AS k (scope, key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT (scope, key) DO UPDATE SET created_at = now()
           WHERE k.status_code IS NULL AND k.request_hash = EXCLUDED.request_hash AND k.created_at < now() - interval '1 minute'
         RETURNING 1`,
        [scope, header, requestHash],
      );
    } catch (error) {
      // The connection failed with the claim perhaps committed: release it once PostgreSQL answers, or the retry this
      // request's 503 invites would be refused for a minute.
      releaseLater({ scope, key: header });
      throw error;
    }
    if (claimed.rowCount === 1) {
      request.idempotency = { scope, key: header };
      return;
    }
    const { rows } = await pool.query<{ request_hash: string; status_code: number | null; response: unknown }>(
      'SELECT request_hash, status_code, response FROM idempotency_keys WHERE scope = $1 AND key = $2',
      [scope, header],
    );
    const first = rows[0];
    if (!first)
      throw new ApiError(409, 'IDEMPOTENCY_IN_PROGRESS', 'retry: the first request with this key just finished');
    if (first.request_hash !== requestHash) {
      throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
    }
    if (first.status_code === null) {
      throw new ApiError(
        409,
        'IDEMPOTENCY_IN_PROGRESS',
        'the first request with this key is still running',
        undefined,
        {
          'retry-after': '1',
        },
      );
    }
    void reply.header('idempotent-replayed', 'true');
    return reply.code(first.status_code).send(first.response);
  };

  // A route-level preHandler placed after the rate limiter's (registered before this plugin), so a replay
  // counts against the caller's limit like any request, and a request the limiter refused claims no key.
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (!methods.some((method) => WRITE_METHODS.has(method)) || route.config?.idempotent === false) return;
    route.preHandler = [...[route.preHandler ?? []].flat(), claimKey];
  });

  app.addHook('onRequestAbort', async (request) => {
    const claim = request.idempotency;
    if (!claim) return;
    request.idempotency = null;
    await release(claim);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = null;
    // Answers that say "not now" (429, 5xx) are never replayed: the retry they invite must run.
    if (reply.statusCode === 429 || reply.statusCode >= 500) {
      await release(claim);
      return payload;
    }
    let body: unknown = null;
    if (typeof payload === 'string' && payload.length > 0) {
      try {
        body = JSON.parse(payload);
      } catch {
        body = payload;
      }
    }
    await pool.query(
      `UPDATE idempotency_keys SET status_code = $3, response = $4::jsonb, completed_at = now()
        WHERE scope = $1 AND key = $2`,
      [claim.scope, claim.key, reply.statusCode, JSON.stringify(body)],
    );
    return payload;
  });
}
