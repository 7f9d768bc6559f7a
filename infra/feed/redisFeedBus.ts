import type { Redis } from 'ioredis';
import type { FeedMessage, FeedPublisher, FeedSubscriber } from './ports.js';

/** `<position>\n<frame>\n<frame>…`: JSON text never holds a raw newline, so the split is exact. */
export function encodeFeedMessage(message: FeedMessage): string {
  return `${message.position ?? ''}\n${message.frames.join('\n')}`;
}

export function decodeFeedMessage(text: string): FeedMessage | null {
  const newline = text.indexOf('\n');
  if (newline < 0) return null;
  const head = text.slice(0, newline);
  if (head !== '' && !/^\d{1,20}$/.test(head)) return null;
  return { position: head === '' ? null : BigInt(head), frames: text.slice(newline + 1).split('\n') };
}

export const feedChannel = (prefix: string, userId: string) => `${prefix}:feed:user:${userId}`;

/** PUBLISH per person, pipelined: one round trip per batch. */
export function redisFeedPublisher(redis: Redis, prefix: string): FeedPublisher {
  return {
    async publish(messages) {
      if (messages.length === 0) return;
      const pipeline = redis.pipeline();
      for (const { userId, message } of messages)
        pipeline.publish(feedChannel(prefix, userId), encodeFeedMessage(message));
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
    },
  };
}

/**
 * One dedicated subscriber connection per process: a channel per person listened to, subscribed while at least one
 * local socket of theirs is open. When the connection comes back after a loss, every channel is subscribed again
 * before `onResumed` listeners run.
 */
export class RedisFeedSubscriber implements FeedSubscriber {
  private readonly listeners = new Map<string, Set<(message: FeedMessage) => void>>();
  private readonly subscribing = new Map<string, Promise<unknown>>();
  private readonly resumed = new Set<() => void>();
  private lost = false;
  private closed = false;

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly onError: (error: Error) => void = () => {},
  ) {
    connection.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.dispatch(channel, payload));
    connection.on('error', (error: Error) => this.onError(error));
    connection.on('close', () => {
      if (!this.closed) this.lost = true;
    });
    connection.on('ready', () => {
      if (!this.lost || this.closed) return;
      this.lost = false;
      void this.resubscribe();
    });
  }

  private async resubscribe(): Promise<void> {
    const channels = [...this.listeners.keys()];
    try {
      if (channels.length > 0) await this.connection.subscribe(...channels);
    } catch (error) {
      this.onError(error as Error);
      return;
    }
    for (const listener of [...this.resumed]) listener();
  }

  private dispatch(channel: Buffer, payload: Buffer): void {
    const listeners = this.listeners.get(channel.toString());
    if (!listeners) return;
    const message = decodeFeedMessage(payload.toString());
    if (!message) return;
    for (const listener of [...listeners]) listener(message);
  }

  async listen(userId: string, listener: (message: FeedMessage) => void): Promise<() => void> {
    const channel = feedChannel(this.prefix, userId);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      const subscribed = this.connection.subscribe(channel).finally(() => {
        if (this.subscribing.get(channel) === subscribed) this.subscribing.delete(channel);
      });
      this.subscribing.set(channel, subscribed);
    }
    set.add(listener);
    const stop = () => {
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      if (!this.closed) this.connection.unsubscribe(channel).catch(() => undefined);
    };
    try {
      await this.subscribing.get(channel);
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  onResumed(listener: () => void): () => void {
    this.resumed.add(listener);
    return () => this.resumed.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.connection.disconnect();
  }
}
