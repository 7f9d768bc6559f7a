/**
 * `npm run bench:auth`: sign-in latency over real HTTP. Starts the API (buildApp, the real adapters)
 * on a loopback port against a fresh database, registers users, then runs closed-loop clients that
 * each sign in again as soon as their previous sign-in answered. Reports p50/p95/p99 and sign-ins per
 * second at 1 and 8 concurrent clients, and writes the table to bench/results/auth-latest.md.
 *
 *   BENCH_LOGINS=400   sign-ins per measured case
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { prepareDatabase } from '../infra/db/prepare.js';
import {
  createBenchDatabase,
  formatNumber,
  markdownTable,
  percentile,
  publishReport,
  runBenchmark,
  runClosedLoop,
  startBenchApp,
} from './support.js';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 400);
const USERS = 64;
const PASSWORD = 'a long and unusual sign-in passphrase';

const log = (message: string) => process.stderr.write(`[bench:auth] ${message}\n`);

async function main(): Promise<void> {
  const db = await createBenchDatabase('roomline_bench_auth');
  await prepareDatabase(db.url);
  const { base, close } = await startBenchApp(db.url);
  const rows: string[][] = [];
  try {
    log(`registering ${USERS} users`);
    const emails: string[] = [];
    await runClosedLoop(8, USERS, async (i) => {
      const email = `bench-${i}-${randomBytes(3).toString('hex')}@example.org`;
      const response = await fetch(`${base}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email,
          password: PASSWORD,
          phone: `+3933${String(10_000_000 + i)}`,
          role: 'tenant',
          fullName: `Load Tester ${i}`,
        }),
      });
      if (response.status !== 201) throw new Error(`register answered ${response.status}: ${await response.text()}`);
      emails.push(email);
    });

    const signIn = async (i: number) => {
      const response = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: emails[i % emails.length], password: PASSWORD }),
      });
      if (response.status !== 200) throw new Error(`login answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    };
    await runClosedLoop(8, 32, signIn);

    for (const clients of [1, 8]) {
      const total = clients === 1 ? Math.min(100, LOGINS) : LOGINS;
      log(`${total} sign-ins, ${clients} concurrent client(s)`);
      const { latencies, seconds } = await runClosedLoop(clients, total, signIn);
      const p95 = percentile(latencies, 0.95);
      rows.push([
        String(clients),
        formatNumber(total),
        formatNumber(total / seconds, 1),
        formatNumber(percentile(latencies, 0.5), 1),
        formatNumber(p95, 1),
        formatNumber(percentile(latencies, 0.99), 1),
        clients === 8 ? (p95 < 200 ? 'PASS' : 'FAIL') : '—',
      ]);
    }
  } finally {
    await close();
    await db.drop();
  }

  const report = [
    `# Sign-in benchmark (${new Date().toISOString()})`,
    '',
    'Command: `npm run bench:auth` (bench/auth.bench.ts): `POST /api/auth/login` over HTTP on loopback against the real app',
    '(argon2id verify, email lookup in the reservation stream, user stream fold, refresh token insert, JWT), load generator in the same process.',
    '',
    `Machine: nproc ${os.cpus().length}, Node ${process.version}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, load average after ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join('/')}.`,
    '',
    markdownTable(
      ['Clients', 'Sign-ins', 'per second', 'p50 ms', 'p95 ms', 'p99 ms', 'p95 < 200 ms at 8 clients'],
      rows,
    ),
    '',
  ].join('\n');
  await publishReport('auth', report);
}

runBenchmark(main);
