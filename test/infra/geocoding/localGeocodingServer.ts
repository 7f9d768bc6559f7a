import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on a free local port that stands in for a geocoding provider (there is no
 * internet here): the adapters talk to it over the network with Node's fetch, nothing is mocked. It
 * answers in the provider's documented response format, from the fixtures beside this file; the
 * live contract suite (`live.test.ts`) runs the same adapters against the real services when configured.
 */
export interface ReceivedRequest {
  url: URL;
  headers: IncomingHttpHeaders;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** Waits this long before answering (a slow provider). */
  delayMs?: number;
}

export type Responder = (request: ReceivedRequest) => Answer;

export interface LocalGeocodingServer {
  /** http://127.0.0.1:<port> */
  origin: string;
  requests: ReceivedRequest[];
  /** Replaces how the server answers from now on. */
  answer(responder: Responder): void;
  close(): Promise<void>;
}

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
}

export async function startLocalGeocodingServer(initial: Responder): Promise<LocalGeocodingServer> {
  let responder = initial;
  const requests: ReceivedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const received: ReceivedRequest = {
      url: new URL(req.url ?? '/', 'http://local'),
      headers: req.headers,
      at: Date.now(),
    };
    requests.push(received);
    const answer = responder(received);
    const send = () => {
      const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? null);
      res.writeHead(answer.status ?? 200, {
        'content-type':
          typeof answer.body === 'string' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
        ...answer.headers,
      });
      res.end(body);
    };
    if (answer.delayMs) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) send();
      }, answer.delayMs);
      timers.add(timer);
    } else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    answer(next) {
      responder = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A local port nothing listens on: the connection is refused. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
