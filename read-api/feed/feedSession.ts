import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { EventStore, RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { FeedMessage } from '../../infra/feed/ports.js';
import type { FactsOf } from '../../projections/feed/feedFacts.js';
import { FeedEventTypes, type Frame, framesOf, mayConcern } from '../../projections/feed/frames.js';

/** WebSocket close codes of the feed (AsyncAPI documents them). */
export const CloseCodes = {
  shuttingDown: 1001,
  policy: 1008,
  tryAgainLater: 1013,
  tokenEnded: 4401,
} as const;

export interface SessionSettings {
  eventStore: EventStore;
  factsOf: FactsOf;
  logger: Logger;
  /** Most feed events one catch-up scans before it sends feed:resync. */
  replayMaxEvents: number;
  /** Live messages kept while catching up; more closes the socket (1013: reconnect with since). */
  maxBuffered?: number;
  /** Bytes queued for a slow client before it is closed (1013). */
  maxBufferedBytes?: number;
}

const REPLAY_PAGE = 200;
const RECIPIENT_MESSAGES_KEPT = 5000;

/**
 * One socket's frames, exactly once and in order. `watermark` is the position up to which the socket has every
 * frame meant for it; a live message at or below it is a duplicate (a replayed event, a batch published twice)
 * and dropped. Catching up (from `?since=`, or after the bus connection was lost) reads the store from the
 * watermark while live messages wait in a buffer; then the buffer drains past the new watermark and live begins.
 */
export class FeedSession {
  private watermark = -1n;
  private catchingUp = true;
  private buffer: FeedMessage[] = [];
  private closed = false;
  private saidLive = false;
  /** Message ids sent to this person on this socket, with their conversation: what an ack may name. */
  readonly receivedMessages = new Map<string, string>();

  constructor(
    readonly socket: WebSocket,
    readonly userId: string,
    private readonly settings: SessionSettings,
  ) {}

  get isClosed(): boolean {
    return this.closed || this.socket.readyState !== this.socket.OPEN;
  }

  /** A live message from the bus. */
  receive(message: FeedMessage): void {
    if (this.closed) return;
    if (this.catchingUp) {
      this.buffer.push(message);
      if (this.buffer.length > (this.settings.maxBuffered ?? 10_000)) {
        this.close(CloseCodes.tryAgainLater, 'too many frames while catching up: reconnect with since');
      }
      return;
    }
    this.deliver(message);
  }

  private deliver(message: FeedMessage): void {
    if (message.position !== null) {
      if (message.position <= this.watermark) return;
      this.watermark = message.position;
    }
    for (const frame of message.frames) {
      if (frame.startsWith('{"type":"message:sent"')) this.remember((JSON.parse(frame) as Frame<'message:sent'>).data);
      this.sendText(frame);
    }
  }

  private remember(data: Frame<'message:sent'>['data']): void {
    if (data.recipientId !== this.userId) return;
    this.receivedMessages.set(data.messageId, data.conversationId);
    if (this.receivedMessages.size > RECIPIENT_MESSAGES_KEPT) {
      this.receivedMessages.delete(this.receivedMessages.keys().next().value!);
    }
  }

  sendText(text: string): void {
    if (this.isClosed) return;
    if (this.socket.bufferedAmount > (this.settings.maxBufferedBytes ?? 4 * 1024 * 1024)) {
      this.close(CloseCodes.tryAgainLater, 'the client reads too slowly: reconnect with since');
      return;
    }
    this.socket.send(text);
  }

  send(frame: Frame): void {
    this.sendText(JSON.stringify(frame));
  }

  /** Starts live from `head` (a socket without since): only frames of later events. */
  startLive(head: bigint): void {
    this.watermark = head;
    this.goLive();
  }

  /** Replays every frame for this person after `since` from the store, then goes live. */
  async catchUp(since: bigint): Promise<void> {
    this.catchingUp = true;
    const from = since > this.watermark ? since : this.watermark;
    const max = this.settings.replayMaxEvents;
    let last = from;
    let scanned = 0;
    let overflow = false;
    let page: RecordedEvent[] = [];
    const flushPage = async () => {
      const events = page.filter((event) => mayConcern(event, this.userId));
      page = [];
      if (events.length === 0) return;
      const facts = await this.settings.factsOf(events, this.userId);
      for (const event of events) {
        if (this.closed) return;
        for (const delivery of framesOf(event, facts.get(event))) {
          if (delivery.userId !== this.userId || delivery.position <= this.watermark) continue;
          for (const frame of delivery.frames) {
            if (frame.type === 'message:sent') this.remember(frame.data);
            this.send(frame);
          }
        }
      }
      // A long replay yields to other sockets and requests between pages.
      await new Promise((resolve) => setImmediate(resolve));
    };
    for await (const event of this.settings.eventStore.readAll({
      fromPosition: from,
      filter: { eventTypes: FeedEventTypes },
      maxCount: max + 1,
    })) {
      if (this.closed) return;
      if (scanned === max) {
        overflow = true;
        break;
      }
      scanned++;
      page.push(event);
      last = event.position;
      if (page.length >= REPLAY_PAGE) await flushPage();
    }
    await flushPage();
    if (this.closed) return;
    if (last > this.watermark) this.watermark = last;
    if (overflow) {
      this.send({
        type: 'feed:resync',
        data: {
          reason: 'too_far_behind',
          position: last.toString(),
          message: `more than ${max} feed events missed: refetch through the REST API; live frames follow`,
        },
      });
    }
    this.goLive();
  }

  private goLive(): void {
    const buffered = this.buffer;
    this.buffer = [];
    this.catchingUp = false;
    // Once per socket (a catch-up after a bus interruption replays without saying it again).
    if (!this.saidLive) {
      this.saidLive = true;
      this.send({ type: 'feed:live', data: { position: this.watermark.toString() } });
    }
    for (const message of buffered) this.deliver(message);
  }

  /** Back to buffering: the bus lost messages, a catch-up from the watermark follows. */
  pause(): void {
    this.catchingUp = true;
  }

  get position(): bigint {
    return this.watermark;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer = [];
    try {
      this.socket.close(code, reason.slice(0, 120));
    } catch {
      this.socket.terminate();
    }
  }

  /** The socket closed from the other side. */
  ended(): void {
    this.closed = true;
    this.buffer = [];
  }
}
