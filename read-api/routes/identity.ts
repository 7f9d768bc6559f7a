import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { holderOf, type IdentityDeps, loadUser, registerUser, runUserCommand } from '../../commands/identity.js';
import type { UserState } from '../../domain/identity/decider.js';
import { SelfServiceRoles } from '../../domain/identity/events.js';
import { normalizeEmail } from '../../domain/identity/normalize.js';
import { Roles } from '../../domain/shared/decider.js';
import { checkPasswordPolicy, hashPassword, verifyAgainstDummy, verifyPassword } from '../../infra/auth/passwords.js';
import { RefreshRejected } from '../../infra/auth/ports.js';
import { UserView } from '../../projections/users/userView.js';
import { positionOf } from '../answers.js';
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
const RESET_MAILS_PER_WINDOW = 3;
const RESET_MAIL_WINDOW_SECONDS = 3600;

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

export const identityRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const identity: IdentityDeps = {
    store: deps.eventStore,
    reservationKey: deps.identity.reservationKey,
    maxRetries: deps.config.COMMAND_MAX_RETRIES,
  };
  const { credentials, sessions, denyList, passwordResets, signAccessToken } = deps.identity;

  /** An access token for the person as their stream stands at `revision`, with the next refresh token. */
  async function issueSession(
    userId: string,
    state: UserState,
    revision: bigint | null,
    refresh: { token: string; familyId: string },
  ) {
    const accessToken = signAccessToken({
      sub: userId,
      email: state.email ?? '',
      role: state.role ?? 'tenant',
      sid: refresh.familyId,
      rev: revision,
    });
    return {
      user: publicUser(userId, state),
      accessToken,
      refreshToken: refresh.token,
      expiresIn: deps.config.ACCESS_TOKEN_TTL_SECONDS,
    };
  }

  /** Ends sessions: their refresh families are revoked (in PostgreSQL), their access tokens denied (in Redis). */
  async function endSessions(userId: string, keep?: string): Promise<void> {
    await denyList.denySessions(await sessions.revokeAllOf(userId, keep));
  }

  /** Failed sign-ins per account and address: a 15-minute window in Redis. */
  const failureKey = (subject: string, ip: string) =>
    `roomline:login-failures:${createHmac('sha256', deps.identity.reservationKey).update(subject).digest('base64url')}:${ip}`;

  /**
   * Takes one of the window's attempts before the password is verified, atomically: of 100 parallel
   * guesses at most LOGIN_FAILURES_ALLOWED are verified, the rest answer 429. A success gives its attempt back.
   */
  async function claimAttempt(request: FastifyRequest, subject: string): Promise<{ release(): Promise<void> }> {
    const key = failureKey(subject, request.ip);
    const [[, count], , [, ttl]] = (await deps.redis
      .multi()
      .incr(key)
      .expire(key, LOGIN_WINDOW_SECONDS, 'NX')
      .ttl(key)
      .exec()) as [[null, number], [null, number], [null, number]];
    if (count > LOGIN_FAILURES_ALLOWED) {
      throw new ApiError(429, 'TOO_MANY_LOGIN_ATTEMPTS', 'too many failed sign-ins; try again later', undefined, {
        'retry-after': String(Math.max(1, ttl)),
      });
    }
    return {
      async release() {
        await deps.redis.decr(key);
      },
    };
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
    async (request, reply) => {
      const body = request.body;
      const policy = checkPasswordPolicy(body.password, { email: body.email, fullName: body.fullName });
      if (!policy.ok) throw new ApiError(422, policy.code, policy.message);
      const userId = uuidv7();
      const now = deps.clock.now().toISOString();
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
      const session = await issueSession(userId, result.state, result.revision, await sessions.open(userId));
      return reply.code(201).send({ ...session, position: positionOf(result) ?? undefined });
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
      const { email, password } = request.body;
      const attempt = await claimAttempt(request, normalizeEmail(email));
      const userId = await holderOf(identity, 'UserEmail', email);
      const stored = userId ? await credentials.get(userId) : null;
      // The same work whether or not the account exists: no timing oracle for who has an account.
      const verdict = stored ? await verifyPassword(stored, password) : await verifyAgainstDummy(password);
      const user = verdict.ok && userId ? await loadUser(deps.eventStore, userId) : undefined;
      if (!verdict.ok || !userId || !user || user.state.status !== 'active') {
        throw new ApiError(401, 'INVALID_CREDENTIALS', 'the email or the password is wrong');
      }
      await attempt.release();
      if (verdict.needsRehash) await credentials.set(userId, await hashPassword(password));
      return issueSession(userId, user.state, user.revision, await sessions.open(userId));
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
          { refreshToken: Type.String({ maxLength: 4096, description: 'anything but a live token answers 401' }) },
          { additionalProperties: false },
        ),
        response: { 200: Session, ...errors(400, 401) },
      },
    },
    async (request) => {
      let rotated: Awaited<ReturnType<typeof sessions.rotate>>;
      try {
        rotated = await sessions.rotate(request.body.refreshToken);
      } catch (error) {
        if (error instanceof RefreshRejected) {
          if (error.code === 'REFRESH_REUSED') {
            const family = await sessions.familyOf(request.body.refreshToken);
            if (family) await denyList.denySessions([family]);
          }
          throw new ApiError(401, error.code, error.message);
        }
        throw error;
      }
      // The role is read now, from the stream: a refresh after a role change carries the new role.
      const { state, revision } = await loadUser(deps.eventStore, rotated.userId);
      if (state.status !== 'active') {
        await sessions.revokeFamily(rotated.familyId);
        await denyList.denySessions([rotated.familyId]);
        throw new ApiError(401, 'REFRESH_INVALID', 'this account can no longer sign in');
      }
      return issueSession(rotated.userId, state, revision, rotated.next);
    },
  );

  app.post(
    '/api/auth/logout',
    {
      config: { access: 'authenticated', idempotent: false },
      // No body at all is a sign-out too: the access token names its session.
      preValidation: async (request) => {
        request.body ??= {};
      },
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
      const families = new Set<string>();
      // The access token knows its session: signing out needs no body.
      if (user.sid) families.add(user.sid);
      const token = request.body?.refreshToken;
      if (token) {
        const family = await sessions.familyOf(token);
        if (family) families.add(family);
      }
      for (const family of families) await sessions.revokeFamily(family);
      await denyList.denySessions([...families]);
      await denyList.deny(user.jti, user.exp);
      return reply.code(204).send(null);
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
          ...errors(400, 401, 404, 409, 422),
        },
      },
    },
    async (request) => {
      const { context, envelope } = commandFrom(request, deps.clock);
      const changes = request.body;
      const result = await runUserCommand(
        identity,
        { type: 'UpdateProfile', data: { userId: context.actorId, changes }, context },
        envelope,
      );
      return { ...publicUser(context.actorId, result.state), position: positionOf(result) };
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
      const { id } = request.params;
      const { role, universityId } = request.body;
      const { context, envelope } = commandFrom(request, deps.clock);
      // Denied before the change (so a crash after the append cannot leave old tokens working) and after it
      // (tokens read from any revision before the change's): the person's next request is answered 401,
      // in every API process, and their next refresh carries the new role.
      const before = await loadUser(deps.eventStore, id);
      if (before.revision !== null) await denyList.denyRevisionsBelow(id, before.revision + 1n);
      const result = await runUserCommand(
        identity,
        { type: 'GrantRole', data: { userId: id, role, universityId }, context },
        envelope,
      );
      if (result.events.length > 0 && result.revision !== null) {
        await denyList.denyRevisionsBelow(id, result.revision);
      }
      return {
        id,
        role: result.state.role!,
        universityId: result.state.universityId ?? null,
        position: positionOf(result),
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
      const { id } = request.params;
      const { context, envelope } = commandFrom(request, deps.clock);
      const result = await runUserCommand(
        identity,
        { type: 'ErasePersonalData', data: { userId: id }, context },
        envelope,
      );
      await deps.identity.eraseKeys(id);
      await endSessions(id);
      if (result.revision !== null) await denyList.denyRevisionsBelow(id, result.revision);
      await denyList.denyAllIssuedBefore(id);
      await credentials.remove(id);
      return reply.code(202).send({ id, position: positionOf(result) });
    },
  );

  app.put(
    '/api/auth/password',
    {
      config: { access: 'authenticated', idempotent: false },
      schema: {
        tags,
        summary: 'Change your password (the current one is required); every other session ends',
        body: Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errors(400, 401, 403, 422, 429) },
      },
    },
    async (request, reply) => {
      const user = request.user!;
      const { currentPassword, newPassword } = request.body;
      const attempt = await claimAttempt(request, `user:${user.sub}`);
      const stored = await credentials.get(user.sub);
      const verdict = stored
        ? await verifyPassword(stored, currentPassword)
        : await verifyAgainstDummy(currentPassword);
      if (!verdict.ok) {
        throw new ApiError(403, 'INVALID_CURRENT_PASSWORD', 'the current password is wrong');
      }
      await attempt.release();
      const { state } = await loadUser(deps.eventStore, user.sub);
      const policy = checkPasswordPolicy(newPassword, {
        email: state.email ?? undefined,
        fullName: state.fullName ?? undefined,
      });
      if (!policy.ok) throw new ApiError(422, policy.code, policy.message);
      await credentials.set(user.sub, await hashPassword(newPassword));
      if (user.sid) {
        await endSessions(user.sub, user.sid);
      } else {
        // A token from before sessions had ids cannot be told apart from the others: every session ends.
        await endSessions(user.sub);
        await denyList.denyAllIssuedBefore(user.sub);
      }
      return reply.code(204).send(null);
    },
  );

  const resetRequestKey = (email: string) =>
    `roomline:password-reset-requests:${createHmac('sha256', deps.identity.reservationKey).update(normalizeEmail(email)).digest('base64url')}`;

  app.post(
    '/api/auth/password-reset',
    {
      config: { access: 'public', idempotent: false },
      schema: {
        tags,
        summary:
          'Ask for a password-reset link by mail; the answer is the same whether or not the email has an account',
        body: Type.Object({ email: Type.String({ minLength: 3, maxLength: 254 }) }, { additionalProperties: false }),
        response: { 202: Type.Object({ message: Type.String() }), ...errors(400, 429) },
      },
    },
    async (request, reply) => {
      const { email } = request.body;
      // At most a few mails an hour to one address, so the route cannot be used to flood a mailbox;
      // beyond that the answer stays the same and no mail goes.
      const key = resetRequestKey(email);
      const [[, sent]] = (await deps.redis.multi().incr(key).expire(key, RESET_MAIL_WINDOW_SECONDS, 'NX').exec()) as [
        [null, number],
      ];
      const userId = await holderOf(identity, 'UserEmail', email);
      const user = userId ? await loadUser(deps.eventStore, userId) : undefined;
      if (userId && user?.state.status === 'active' && sent <= RESET_MAILS_PER_WINDOW) {
        const { token } = await passwordResets.issue(userId);
        const minutes = deps.config.PASSWORD_RESET_TTL_MINUTES;
        await deps.identity.notifier.notify({
          userId,
          key: `password-reset.${userId}.${createHmac('sha256', deps.identity.reservationKey).update(token).digest('hex').slice(0, 16)}`,
          subject: 'Reset your Roomline password',
          text: [
            'Someone asked to reset the password of your Roomline account.',
            `To choose a new one, open this link within ${minutes} minutes (it works once):`,
            '',
            `${deps.config.APP_URL.replace(/\/$/, '')}/reset-password#token=${token}`,
            '',
            'If it was not you, ignore this mail: your password stays as it is.',
          ].join('\n'),
        });
      }
      return reply
        .code(202)
        .send({ message: 'if an account has this email, a link to reset its password is on its way' });
    },
  );

  app.post(
    '/api/auth/password-reset/confirm',
    {
      config: { access: 'public', idempotent: false },
      schema: {
        tags,
        summary: "Set a new password with a reset link's token; every session of the account ends",
        body: Type.Object(
          { token: Type.String({ maxLength: 200 }), newPassword: Password },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...errors(400, 422, 429) },
      },
    },
    async (request, reply) => {
      const { token, newPassword } = request.body;
      const invalid = () =>
        new ApiError(400, 'RESET_TOKEN_INVALID', 'this reset link is not valid, was used already or has expired');
      const userId = await passwordResets.peek(token);
      if (!userId) throw invalid();
      const { state } = await loadUser(deps.eventStore, userId);
      if (state.status !== 'active') throw invalid();
      // Checked before the token is used up, so a refused password can be replaced with a better one.
      const policy = checkPasswordPolicy(newPassword, {
        email: state.email ?? undefined,
        fullName: state.fullName ?? undefined,
      });
      if (!policy.ok) throw new ApiError(422, policy.code, policy.message);
      const hash = await hashPassword(newPassword);
      if ((await passwordResets.consume(token)) !== userId) throw invalid();
      await credentials.set(userId, hash);
      await endSessions(userId);
      await denyList.denyAllIssuedBefore(userId);
      return reply.code(204).send(null);
    },
  );
};

/** Creates the first admin from ROOMLINE_ADMIN_EMAIL / ROOMLINE_ADMIN_PASSWORD when absent. */
export async function bootstrapAdmin(deps: AppDeps): Promise<'created' | 'present' | 'not_configured'> {
  const { ROOMLINE_ADMIN_EMAIL: email, ROOMLINE_ADMIN_PASSWORD: password } = deps.config;
  if (!email || !password) return 'not_configured';
  const identity: IdentityDeps = { store: deps.eventStore, reservationKey: deps.identity.reservationKey };
  if (await holderOf(identity, 'UserEmail', email)) return 'present';
  const policy = checkPasswordPolicy(password, { email });
  if (!policy.ok) throw new Error(`ROOMLINE_ADMIN_PASSWORD: ${policy.message}`);
  const userId = uuidv7();
  const now = deps.clock.now().toISOString();
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
