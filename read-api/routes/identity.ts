import { createHmac, randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { holderOf, type IdentityDeps, loadUser, registerUser, runUserCommand } from '../../commands/identity.js';
import type { UserState } from '../../domain/identity/decider.js';
import { SelfServiceRoles } from '../../domain/identity/events.js';
import { normalizeEmail } from '../../domain/identity/normalize.js';
import { Roles } from '../../domain/shared/decider.js';
import { checkPasswordPolicy, hashPassword, verifyAgainstDummy, verifyPassword } from '../../infra/auth/passwords.js';
import { RefreshRejected } from '../../infra/auth/sessions.js';
import { UserView } from '../../projections/users/userView.js';
import { commandFrom } from '../commandContext.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { errors, IdempotencyHeaders, IdParams, Position, Uuid } from '../schemas.js';

const tags = ['identity'];

const PublicUser = Type.Object({
  id: Uuid,
  email: Type.Union([Type.String(), Type.Null()]),
  phone: Type.Union([Type.String(), Type.Null()]),
  role: Type.String(),
  fullName: Type.Union([Type.String(), Type.Null()]),
  universityId: Type.Union([Uuid, Type.Null()]),
  universityName: Type.Union([Type.String(), Type.Null()]),
  businessName: Type.Union([Type.String(), Type.Null()]),
  profilePictureUrl: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

const Session = Type.Object({
  user: PublicUser,
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  position: Type.Optional(Position),
});

const Password = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: 'at least 10 characters, not a common password',
});

const RegisterBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    password: Password,
    phone: Type.String({ minLength: 7, maxLength: 32 }),
    role: Type.Union(SelfServiceRoles.map((r) => Type.Literal(r))),
    fullName: Type.String({ minLength: 1, maxLength: 120 }),
    universityName: Type.Optional(Type.String({ maxLength: 200 })),
    businessName: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

const LoginBody = Type.Object(
  { email: Type.String({ minLength: 3, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);

const ProfileBody = Type.Object(
  {
    fullName: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
    phone: Type.Optional(Type.String({ minLength: 7, maxLength: 32 })),
    universityName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    businessName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    profilePictureUrl: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);

const LOGIN_FAILURES_ALLOWED = 10;
const LOGIN_WINDOW_SECONDS = 15 * 60;

function publicUser(userId: string, state: UserState) {
  return {
    id: userId,
    email: state.email ?? null,
    phone: state.phone ?? null,
    role: state.role ?? 'tenant',
    fullName: state.fullName ?? null,
    universityId: state.universityId ?? null,
    universityName: state.universityName ?? null,
    businessName: state.businessName ?? null,
    profilePictureUrl: state.profilePictureUrl ?? null,
    createdAt: state.registeredAt ?? new Date(0).toISOString(),
  };
}

export function identityRoutes(app: FastifyInstance, deps: AppDeps): void {
  const identity: IdentityDeps = {
    store: deps.eventStore,
    reservationKey: deps.identity.reservationKey,
    maxRetries: deps.config.COMMAND_MAX_RETRIES,
  };
  const { credentials, sessions, denyList, signAccessToken } = deps.identity;

  async function issueSession(userId: string, state: UserState, familyId?: string) {
    const accessToken = signAccessToken({ sub: userId, email: state.email ?? '', role: state.role ?? 'tenant' });
    const refresh = await sessions.issue(userId, familyId);
    return {
      user: publicUser(userId, state),
      accessToken,
      refreshToken: refresh.token,
      expiresIn: deps.config.ACCESS_TOKEN_TTL_SECONDS,
    };
  }

  /** Failed logins per email and address: a sliding 15-minute counter in Redis. */
  const failureKey = (email: string, ip: string) =>
    `roomline:login-failures:${createHmac('sha256', deps.identity.reservationKey).update(normalizeEmail(email)).digest('base64url')}:${ip}`;

  async function assertNotLockedOut(request: FastifyRequest, email: string): Promise<void> {
    const key = failureKey(email, request.ip);
    const [[, count], [, ttl]] = (await deps.redis.multi().get(key).ttl(key).exec()) as [
      [null, string | null],
      [null, number],
    ];
    if (Number(count ?? 0) >= LOGIN_FAILURES_ALLOWED) {
      throw new ApiError(429, 'TOO_MANY_LOGIN_ATTEMPTS', 'too many failed sign-ins; try again later', undefined, {
        'retry-after': String(Math.max(1, ttl)),
      });
    }
  }

  async function recordFailure(request: FastifyRequest, email: string): Promise<void> {
    const key = failureKey(email, request.ip);
    const count = await deps.redis.incr(key);
    if (count === 1) await deps.redis.expire(key, LOGIN_WINDOW_SECONDS);
  }

  app.post(
    '/api/auth/register',
    {
      config: { access: 'public', idempotent: false },
      schema: {
        tags,
        summary: 'Create an account (tenant or landlord) and sign in',
        body: RegisterBody,
        response: { 201: Session, ...errors(400, 409, 422, 429) },
      },
    },
    async (request, reply: FastifyReply) => {
      const body = request.body as typeof RegisterBody.static;
      const policy = checkPasswordPolicy(body.password, { email: body.email, fullName: body.fullName });
      if (!policy.ok) throw new ApiError(422, policy.code, policy.message);
      const userId = uuidv7();
      const now = new Date().toISOString();
      const result = await registerUser(
        identity,
        {
          type: 'RegisterUser',
          data: { userId, ...body },
          context: { actorId: userId, actorRole: body.role, now },
        },
        {
          now,
          newId: uuidv7,
          metadata: {
            correlationId: request.correlationId,
            causationId: null,
            actorId: userId,
            actorRole: body.role,
            requestId: request.id,
          },
        },
        async () => credentials.set(userId, await hashPassword(body.password)),
      );
      const session = await issueSession(userId, result.state);
      return reply.code(201).send({ ...session, position: result.position?.toString() });
    },
  );

  app.post(
    '/api/auth/login',
    {
      config: { access: 'public', idempotent: false },
      schema: {
        tags,
        summary: 'Sign in with email and password',
        body: LoginBody,
        response: { 200: Session, ...errors(400, 401, 429) },
      },
    },
    async (request) => {
      const { email, password } = request.body as typeof LoginBody.static;
      await assertNotLockedOut(request, email);
      const userId = await holderOf(identity, 'UserEmail', email);
      const stored = userId ? await credentials.get(userId) : null;
      // The same work whether or not the account exists: no timing oracle for who has an account.
      const verdict = stored ? await verifyPassword(stored, password) : await verifyAgainstDummy(password);
      const user = verdict.ok && userId ? await loadUser(deps.eventStore, userId) : undefined;
      if (!verdict.ok || !userId || !user || user.state.status !== 'active') {
        await recordFailure(request, email);
        throw new ApiError(401, 'INVALID_CREDENTIALS', 'the email or the password is wrong');
      }
      if (verdict.needsRehash) await credentials.set(userId, await hashPassword(password));
      return issueSession(userId, user.state);
    },
  );

  app.post(
    '/api/auth/refresh',
    {
      config: { access: 'public', idempotent: false },
      schema: {
        tags,
        summary: 'Trade a refresh token for a new pair (each refresh token works once)',
        body: Type.Object(
          { refreshToken: Type.String({ minLength: 10, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: { 200: Session, ...errors(400, 401) },
      },
    },
    async (request) => {
      const { refreshToken } = request.body as { refreshToken: string };
      let owner: { userId: string; familyId: string };
      try {
        owner = await sessions.consume(refreshToken);
      } catch (error) {
        if (error instanceof RefreshRejected) throw new ApiError(401, error.code, error.message);
        throw error;
      }
      const { state } = await loadUser(deps.eventStore, owner.userId);
      if (state.status !== 'active') {
        await sessions.revokeFamily(owner.familyId);
        throw new ApiError(401, 'REFRESH_INVALID', 'this account can no longer sign in');
      }
      return issueSession(owner.userId, state, owner.familyId);
    },
  );

  app.post(
    '/api/auth/logout',
    {
      config: { access: 'authenticated', idempotent: false },
      schema: {
        tags,
        summary: 'Sign out: the access token and the refresh token family stop working',
        body: Type.Optional(
          Type.Object(
            { refreshToken: Type.Optional(Type.String({ maxLength: 200 })) },
            { additionalProperties: false },
          ),
        ),
        response: { 204: Type.Null(), ...errors(400, 401) },
      },
    },
    async (request, reply) => {
      const user = request.user!;
      const token = (request.body as { refreshToken?: string } | undefined)?.refreshToken;
      if (token) {
        const family = await sessions.familyOf(token);
        if (family) await sessions.revokeFamily(family);
      }
      await denyList.deny(user.jti, user.exp);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/auth/me',
    {
      config: { access: 'authenticated' },
      schema: { tags, summary: 'The signed-in person', response: { 200: PublicUser, ...errors(401, 404, 503) } },
    },
    async (request) => {
      const userId = request.user!.sub;
      // Right after registering, the read model may be a moment behind: wait for it, bounded.
      const deadline = Date.now() + deps.config.MIN_POSITION_WAIT_MS;
      for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
        const view = await deps.orm.em.fork().findOne(UserView, { id: userId });
        if (view) {
          return {
            ...view,
            createdAt: view.createdAt.toISOString(),
          };
        }
        if (Date.now() > deadline) throw new ApiError(404, 'USER_NOT_FOUND', 'no account for this token');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    },
  );

  app.put(
    '/api/auth/profile',
    {
      config: { access: 'authenticated', idempotent: false },
      schema: {
        tags,
        summary: 'Change your own profile',
        body: ProfileBody,
        response: {
          200: Type.Intersect([PublicUser, Type.Object({ position: Type.Union([Position, Type.Null()]) })]),
          ...errors(400, 401, 409, 422),
        },
      },
    },
    async (request) => {
      const { context, envelope } = commandFrom(request);
      const changes = request.body as typeof ProfileBody.static;
      const result = await runUserCommand(
        identity,
        { type: 'UpdateProfile', data: { userId: context.actorId, changes }, context },
        envelope,
      );
      return { ...publicUser(context.actorId, result.state), position: result.position?.toString() ?? null };
    },
  );

  app.put(
    '/api/admin/users/:id/role',
    {
      config: { access: ['admin'] },
      schema: {
        tags: ['admin'],
        summary: 'Grant a role (officials belong to a university)',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            role: Type.Union(Roles.map((r) => Type.Literal(r))),
            universityId: Type.Optional(Type.Union([Uuid, Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            id: Uuid,
            role: Type.String(),
            universityId: Type.Union([Uuid, Type.Null()]),
            position: Type.Union([Position, Type.Null()]),
          }),
          ...errors(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { role, universityId } = request.body as { role: (typeof Roles)[number]; universityId?: string | null };
      const { context, envelope } = commandFrom(request);
      const result = await runUserCommand(
        identity,
        { type: 'GrantRole', data: { userId: id, role, universityId }, context },
        envelope,
      );
      return {
        id,
        role: result.state.role!,
        universityId: result.state.universityId ?? null,
        position: result.position?.toString() ?? null,
      };
    },
  );

  app.delete(
    '/api/admin/users/:id/personal-data',
    {
      config: { access: ['admin'] },
      schema: {
        tags: ['admin'],
        summary: "Erase a person's personal data everywhere (crypto-shredding); their bookings stay, anonymised",
        params: IdParams,
        response: {
          202: Type.Object({ id: Uuid, position: Type.Union([Position, Type.Null()]) }),
          ...errors(401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { context, envelope } = commandFrom(request);
      const result = await runUserCommand(
        identity,
        { type: 'ErasePersonalData', data: { userId: id }, context },
        envelope,
      );
      await deps.identity.eraseKeys(id);
      await sessions.revokeAllOf(id);
      await denyList.denyAllIssuedBefore(id);
      await credentials.remove(id);
      return reply.code(202).send({ id, position: result.position?.toString() ?? null });
    },
  );
}

/** Creates the first admin from ROOMLINE_ADMIN_EMAIL / ROOMLINE_ADMIN_PASSWORD when absent. */
export async function bootstrapAdmin(deps: AppDeps): Promise<'created' | 'present' | 'not_configured'> {
  const { ROOMLINE_ADMIN_EMAIL: email, ROOMLINE_ADMIN_PASSWORD: password } = deps.config;
  if (!email || !password) return 'not_configured';
  const identity: IdentityDeps = { store: deps.eventStore, reservationKey: deps.identity.reservationKey };
  if (await holderOf(identity, 'UserEmail', email)) return 'present';
  const policy = checkPasswordPolicy(password, { email });
  if (!policy.ok) throw new Error(`ROOMLINE_ADMIN_PASSWORD: ${policy.message}`);
  const userId = uuidv7();
  const now = new Date().toISOString();
  try {
    await registerUser(
      identity,
      {
        type: 'RegisterUser',
        data: { userId, role: 'admin', email, phone: null, fullName: 'Administrator', bootstrap: true },
        context: { actorId: userId, actorRole: 'admin', now },
      },
      {
        now,
        newId: uuidv7,
        metadata: {
          correlationId: randomUUID(),
          causationId: null,
          actorId: userId,
          actorRole: 'admin',
          requestId: null,
        },
      },
      async () => deps.identity.credentials.set(userId, await hashPassword(password)),
    );
  } catch (error) {
    // Another process bootstrapped at the same moment.
    if ((error as { code?: string }).code === 'EMAIL_TAKEN') return 'present';
    throw error;
  }
  return 'created';
}
