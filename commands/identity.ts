import { createHmac } from 'node:crypto';
import type { RegisterUser, UserCommand } from '../domain/identity/commands.js';
import { reservationDecider, type UserState, userDecider } from '../domain/identity/decider.js';
import { userStreamId } from '../domain/identity/events.js';
import { normalizeEmail, normalizePhone } from '../domain/identity/normalize.js';
import type { CommandContext } from '../domain/shared/decider.js';
import { DomainError } from '../domain/shared/errors.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import { type CommandEnvelope, type CommandResult, type HandleOptions, handleCommand } from './handleCommand.js';
import { loadState } from './loadState.js';

/** A reservation left by a registration that never finished may be taken over after this long. */
const STALE_RESERVATION_MS = 5 * 60_000;

export interface IdentityDeps {
  store: EventStore;
  /** Key of the HMAC that names reservation streams, so no email or phone number appears in a stream id. */
  reservationKey: Buffer;
  maxRetries?: number;
}

export function reservationStream(
  deps: Pick<IdentityDeps, 'reservationKey'>,
  kind: 'UserEmail' | 'UserPhone',
  value: string,
): string {
  const normalized = kind === 'UserEmail' ? normalizeEmail(value) : normalizePhone(value);
  return `${kind}-${createHmac('sha256', deps.reservationKey).update(normalized).digest('base64url')}`;
}

/** The user holding an email, read on the write side (login needs no read model). */
export async function holderOf(
  deps: IdentityDeps,
  kind: 'UserEmail' | 'UserPhone',
  value: string,
): Promise<string | null> {
  return (await loadState(deps.store, reservationStream(deps, kind, value), reservationDecider)).state.holder;
}

export async function loadUser(
  store: EventStore,
  userId: string,
): Promise<{ state: UserState; revision: bigint | null }> {
  return loadState(store, userStreamId(userId), userDecider);
}

async function reserve(
  deps: IdentityDeps,
  stream: string,
  userId: string,
  takenCode: 'EMAIL_TAKEN' | 'PHONE_TAKEN',
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<void> {
  const run = () =>
    handleCommand(
      deps.store,
      stream,
      reservationDecider,
      { type: 'Reserve', data: { userId, takenCode }, context },
      envelope,
      {
        maxRetries: deps.maxRetries ?? 5,
      },
    );
  try {
    await run();
  } catch (error) {
    if (!(error instanceof DomainError) || error.code !== takenCode) throw error;
    // Taken: by a real account, or by a registration that died half-way (its user stream never came).
    const { state: holder } = await loadState(deps.store, stream, reservationDecider);
    const age = holder.reservedAt ? Date.parse(context.now) - Date.parse(holder.reservedAt) : 0;
    if (!holder.holder || age < STALE_RESERVATION_MS) throw error;
    const { state } = await loadUser(deps.store, holder.holder);
    if (state.status !== 'none') throw error;
    await handleCommand(
      deps.store,
      stream,
      reservationDecider,
      { type: 'Release', data: { userId: holder.holder }, context },
      envelope,
    );
    await run();
  }
}

async function release(
  deps: IdentityDeps,
  stream: string,
  userId: string,
  context: CommandContext,
  envelope: CommandEnvelope,
) {
  await handleCommand(
    deps.store,
    stream,
    reservationDecider,
    { type: 'Release', data: { userId }, context },
    envelope,
    {
      maxRetries: deps.maxRetries ?? 5,
    },
  );
}

/**
 * Registers a person: validates, reserves the email and the phone number on the write side (each a
 * stream appended with its expected revision, so of concurrent claims exactly one wins), stores the
 * password hash through `storeCredential`, then appends UserRegistered. A failure releases what it
 * reserved.
 */
export async function registerUser(
  deps: IdentityDeps,
  command: RegisterUser,
  envelope: CommandEnvelope,
  storeCredential: () => Promise<void>,
): Promise<CommandResult<UserState, ReturnType<typeof userDecider.decide>[number]>> {
  // Validate before reserving anything.
  userDecider.decide(command, userDecider.initialState);
  const { userId, email, phone } = command.data;
  const emailStream = reservationStream(deps, 'UserEmail', email);
  const phoneStream = phone ? reservationStream(deps, 'UserPhone', phone) : null;
  const plain = { ...envelope, idSeed: undefined };
  await reserve(deps, emailStream, userId, 'EMAIL_TAKEN', command.context, plain);
  try {
    if (phoneStream) await reserve(deps, phoneStream, userId, 'PHONE_TAKEN', command.context, plain);
  } catch (error) {
    await release(deps, emailStream, userId, command.context, plain).catch(() => undefined);
    throw error;
  }
  try {
    await storeCredential();
    return await handleCommand(deps.store, userStreamId(userId), userDecider, command, envelope, {
      maxRetries: deps.maxRetries ?? 5,
    });
  } catch (error) {
    if (phoneStream) await release(deps, phoneStream, userId, command.context, plain).catch(() => undefined);
    await release(deps, emailStream, userId, command.context, plain).catch(() => undefined);
    throw error;
  }
}

/** Profile changes; a new phone number is reserved first and the old one released after. */
export async function runUserCommand(
  deps: IdentityDeps,
  command: UserCommand,
  envelope: CommandEnvelope,
  options: HandleOptions = {},
): Promise<CommandResult<UserState, ReturnType<typeof userDecider.decide>[number]>> {
  const stream = userStreamId(command.data.userId);
  const plain = { ...envelope, idSeed: undefined };
  if (command.type === 'UpdateProfile' && command.data.changes.phone) {
    const { state } = await loadUser(deps.store, command.data.userId);
    const newPhone = normalizePhone(command.data.changes.phone);
    if (state.status === 'active' && state.phone !== newPhone) {
      const newStream = reservationStream(deps, 'UserPhone', newPhone);
      await reserve(deps, newStream, command.data.userId, 'PHONE_TAKEN', command.context, plain);
      try {
        const result = await handleCommand(deps.store, stream, userDecider, command, envelope, options);
        if (state.phone)
          await release(
            deps,
            reservationStream(deps, 'UserPhone', state.phone),
            command.data.userId,
            command.context,
            plain,
          );
        return result;
      } catch (error) {
        await release(deps, newStream, command.data.userId, command.context, plain).catch(() => undefined);
        throw error;
      }
    }
  }
  if (command.type === 'ErasePersonalData') {
    // Release the person's email and phone while they can still be read; erasure then destroys the key.
    const { state } = await loadUser(deps.store, command.data.userId);
    if (state.status === 'active') {
      if (state.email)
        await release(
          deps,
          reservationStream(deps, 'UserEmail', state.email),
          command.data.userId,
          command.context,
          plain,
        );
      if (state.phone)
        await release(
          deps,
          reservationStream(deps, 'UserPhone', state.phone),
          command.data.userId,
          command.context,
          plain,
        );
    }
  }
  return handleCommand(deps.store, stream, userDecider, command, envelope, options);
}
