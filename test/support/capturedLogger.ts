import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../infra/runtime.js';

/** The production logger (redaction included) writing into memory, for assertions on what is logged. */
export function capturedLogger(level: 'info' | 'debug' = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ LOG_LEVEL: level }, sink), lines };
}
