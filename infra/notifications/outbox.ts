import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { idempotencyToken } from '../mail/mailer.js';
import type { PushSender, SmsSender } from './ports.js';

/**
 * The SMS and push adapters until a provider is configured: each message a JSON file under `dir`, named after its
 * idempotency key (sending it again replaces the file), written aside then renamed so it appears whole.
 */
async function writeOnce(dir: string, idempotencyKey: string, message: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${idempotencyToken(idempotencyKey)}.json`);
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(message, null, 2)}\n`);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export function createSmsOutbox(dir: string, now: () => Date): SmsSender {
  return {
    async send(message) {
      await writeOnce(dir, message.idempotencyKey, { ...message, channel: 'sms', writtenAt: now().toISOString() });
    },
  };
}

export function createPushOutbox(dir: string, now: () => Date): PushSender {
  return {
    async send(message) {
      await writeOnce(dir, message.idempotencyKey, { ...message, channel: 'push', writtenAt: now().toISOString() });
    },
  };
}
