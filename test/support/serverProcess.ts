import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessTokenSigner } from '../../infra/auth/tokens.js';
import { TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET } from './app.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Signs access tokens the way a server started by `startServer` accepts them. */
export const signTestToken = accessTokenSigner({
  secret: TEST_JWT_SECRET,
  issuer: 'roomline',
  audience: 'roomline-api',
  ttlSeconds: 900,
});

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  base: string;
  port: number;
  /** Everything the process printed so far. */
  output(): string;
}

/** `infra/main.ts` as its own OS process on a free loopback port, resolved once /health/ready answers 200. */
export async function startServer(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/main.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_ENCRYPTION_KEY: TEST_DATA_ENCRYPTION_KEY,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '100000',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'roomline-e2e-')),
      ...env,
    },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${output}`);
    const ready = await fetch(`${base}/health/ready`).catch(() => undefined);
    if (ready?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready in time:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { child, base, port, output: () => output };
}
