import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '../../domain/shared/decider.js';
import { type AccessClaims, accessTokenVerifier, InvalidToken, type TokenSettings } from '../../infra/auth/tokens.js';
import { ApiError } from '../errors.js';

/**
 * Who may call a route: `public` (anyone; a token, if sent, must be valid), `authenticated` (any
 * signed-in role) or a list of roles. Every route must declare it; the app refuses to start otherwise.
 */
export type Access = 'public' | 'authenticated' | readonly Role[];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /**
     * The route reads a Bearer token of its own (not an access token), such as /metrics with METRICS_TOKEN:
     * this plugin then leaves the Authorization header to the route and sets no user.
     */
    ownBearerToken?: boolean;
  }
  interface FastifyRequest {
    user: AccessClaims | null;
  }
  interface FastifyInstance {
    /** Every route with the roles it admits: the access-control test walks this list. */
    routeAccess: Array<{ method: string; url: string; access: Access }>;
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new ApiError(401, 'UNAUTHENTICATED', 'use Authorization: Bearer <accessToken>');
  return match[1];
}

export function registerAuth(
  app: FastifyInstance,
  settings: TokenSettings,
  isRevoked: (token: AccessClaims) => Promise<boolean> = async () => false,
): void {
  const verify = accessTokenVerifier(settings);
  app.decorateRequest('user', null);
  app.decorate('routeAccess', []);

  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (!access) throw new Error(`route ${route.method} ${route.url} does not declare config.access`);
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && method !== 'OPTIONS') app.routeAccess.push({ method, url: route.url, access });
    }
  });

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config?.access;
    if (!access || request.method === 'OPTIONS') return; // 404s, framework routes, CORS preflight
    if (request.routeOptions.config?.ownBearerToken) return;
    let token: string | undefined;
    try {
      token = bearer(request);
      if (token) request.user = verify(token);
    } catch (error) {
      if (error instanceof InvalidToken) throw new ApiError(401, 'INVALID_TOKEN', error.message);
      throw error;
    }
    if (request.user && (await isRevoked(request.user))) {
      throw new ApiError(401, 'TOKEN_REVOKED', 'this access token was signed out');
    }
    if (access === 'public') return;
    if (!request.user) throw new ApiError(401, 'UNAUTHENTICATED', 'sign in first: this route needs an access token');
    if (access === 'authenticated') return;
    if (!access.includes(request.user.role)) {
      throw new ApiError(403, 'FORBIDDEN', `this route is for ${access.join(', ')}`, { required: access });
    }
  });
}
