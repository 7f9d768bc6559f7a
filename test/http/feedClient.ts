import WebSocket from 'ws';

export interface ReceivedFrame {
  type: string;
  data: Record<string, unknown>;
  position?: string;
}

/** A WebSocket client of the feed for tests: collects frames, waits for them, tells how the socket closed. */
export class FeedClient {
  readonly frames: ReceivedFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ReceivedFrame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
  }

  of(type: string): ReceivedFrame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  /** Waits until `predicate` holds over the frames received so far. */
  async until(predicate: (frames: ReceivedFrame[]) => boolean, timeoutMs = 10_000, what = 'frames'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for `feed:live` (every replayed frame has come) and gives its position. */
  async live(timeoutMs = 10_000): Promise<string> {
    await this.until((frames) => frames.some((frame) => frame.type === 'feed:live'), timeoutMs, 'feed:live');
    return this.of('feed:live')[0]!.data.position as string;
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  close(): void {
    this.ws.close(1000);
  }
}

export class HandshakeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`handshake refused: ${status} ${body}`);
  }
}

/** Opens `ws://…/ws` with the token in the query (or as a header) and `since`; rejects with HandshakeRefused. */
export function connectFeed(
  base: string,
  options: { token?: string; header?: string; since?: string; query?: string } = {},
): Promise<FeedClient> {
  const url = new URL('/ws', base.replace(/^http/, 'ws'));
  if (options.token !== undefined) url.searchParams.set('token', options.token);
  if (options.since !== undefined) url.searchParams.set('since', options.since);
  const href = options.query !== undefined ? `${url.origin}/ws?${options.query}` : url.href;
  const ws = new WebSocket(href, { headers: options.header ? { authorization: options.header } : {} });
  const client = new FeedClient(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => reject(new HandshakeRefused(response.statusCode ?? 0, body)));
    });
    ws.once('error', (error) => reject(error));
  });
}
