/**
 * `npm run bench:photos`: does photo processing starve sign-in? sharp decodes on libuv's thread pool, which the
 * argon2id checks of `POST /api/auth/login` share. Starts the real app (buildApp, real adapters) on a loopback
 * port twice, with IMAGE_DECODE_CONCURRENCY at the default (1) and at 64 (in effect no limit), and in each
 * measures sign-in latency idle, then while 10 uploaders each keep sending a large photo (24 MP noisy JPEG just
 * under 5 MB) one after the other. An upload refused with 503 waits its Retry-After and sends again.
 * Writes bench/results/photos-latest.md.
 *
 *   BENCH_LOGINS=200      sign-ins per measured case
 *   BENCH_SIGNIN_CLIENTS=4 concurrent sign-in clients
 *   BENCH_LIMITS=1,64     IMAGE_DECODE_CONCURRENCY values compared
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { prepareDatabase } from '../infra/db/prepare.js';
import {
  createBenchDatabase,
  formatNumber,
  markdownTable,
  median,
  percentile,
  publishReport,
  runBenchmark,
  runClosedLoop,
  sleep,
  startBenchApp,
} from './support.js';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 200);
const SIGNIN_CLIENTS = Number(process.env.BENCH_SIGNIN_CLIENTS ?? 4);
const LIMITS = (process.env.BENCH_LIMITS ?? '1,64').split(',').map(Number);
const UPLOADERS = 10;
const WIDTH = 6000;
const HEIGHT = 4000;
const MAX_BYTES = 5 * 1024 * 1024;
const USERS = 16;
const PASSWORD = 'a long and unusual sign-in passphrase';

const log = (message: string) => process.stderr.write(`[bench:photos] ${message}\n`);

/** A gradient with per-pixel noise: 24 MP, compressed to just under 5 MB (the upload limit). */
async function largeJpeg(seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3);
  const noise = randomBytes(pixels.length);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const i = (y * WIDTH + x) * 3;
      pixels[i] = ((x * 255) / WIDTH + (noise[i]! & 31)) & 255;
      pixels[i + 1] = ((y * 255) / HEIGHT + (noise[i + 1]! & 31) + seed) & 255;
      pixels[i + 2] = ((x + y + seed) % 256) + (noise[i + 2]! & 15);
    }
  }
  for (let quality = 85; quality >= 40; quality -= 5) {
    const jpeg = await sharp(pixels, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
      .jpeg({ quality })
      .toBuffer();
    if (jpeg.length <= MAX_BYTES) return jpeg;
  }
  throw new Error('cannot make a JPEG under 5 MB');
}

function multipart(content: Buffer): { body: Buffer; contentType: string } {
  const boundary = `----bench-${randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="photos"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

async function json(response: Response, expected: number): Promise<Record<string, unknown>> {
  if (response.status !== expected) throw new Error(`answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

interface Case {
  limit: number;
  phase: 'idle' | 'uploading';
  latencies: number[];
  seconds: number;
  uploads: number;
  refused: number;
  uploadMs: number[];
  peakDecodes: number;
}

async function measure(databaseUrl: string, limit: number, images: readonly Buffer[]): Promise<Case[]> {
  const dataDir = await mkdtemp(join(os.tmpdir(), 'roomline-bench-photos-'));
  const { base, runtime, close } = await startBenchApp(databaseUrl, {
    IMAGE_DECODE_CONCURRENCY: String(limit),
    DATA_DIR: dataDir,
  });
  try {
    const suffix = randomBytes(3).toString('hex');
    const register = (email: string, role: 'tenant' | 'landlord', i: number) =>
      fetch(`${base}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email,
          password: PASSWORD,
          phone: `+3934${String(10_000_000 + i + limit * 100)}`,
          role,
          fullName: `Load Tester ${i}`,
        }),
      }).then((response) => json(response, 201));
    const signInAs = async (email: string) =>
      json(
        await fetch(`${base}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password: PASSWORD }),
        }),
        200,
      );

    const emails = Array.from({ length: USERS }, (_, i) => `bench-photos-${limit}-${i}-${suffix}@example.org`);
    await runClosedLoop(4, USERS, (i) => register(emails[i]!, 'tenant', i).then(() => undefined));
    const landlordEmail = `bench-landlord-${limit}-${suffix}@example.org`;
    await register(landlordEmail, 'landlord', USERS);
    const token = (await signInAs(landlordEmail)).accessToken as string;
    const room = await json(
      await fetch(`${base}/api/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          title: 'Benchmark room with many photos',
          description: 'A room that receives a great many large photos during the benchmark.',
          address: 'Via Zamboni 33, Bologna',
          location: { lat: 44.4969, lng: 11.3526 },
          pricePerNight: 4500,
          currency: 'EUR',
          maxOccupants: 1,
          amenities: ['desk', 'wifi'],
        }),
      }),
      201,
    );
    const signIn = (i: number) => signInAs(emails[i % emails.length]!).then(() => undefined);
    await runClosedLoop(SIGNIN_CLIENTS, 32, signIn);

    const cases: Case[] = [];
    for (const phase of ['idle', 'uploading'] as const) {
      let uploading = phase === 'uploading';
      let uploads = 0;
      let refused = 0;
      const uploadMs: number[] = [];
      const uploaders = uploading
        ? Array.from({ length: UPLOADERS }, async (_, u) => {
            const { body, contentType } = multipart(images[u % images.length]!);
            while (uploading) {
              const t0 = performance.now();
              const response = await fetch(`${base}/api/rooms/${room.id as string}/photos`, {
                method: 'POST',
                headers: { 'content-type': contentType, authorization: `Bearer ${token}` },
                body,
              });
              await response.arrayBuffer();
              if (response.status === 201) {
                uploads++;
                uploadMs.push(performance.now() - t0);
              } else if (response.status === 503) {
                refused++;
                await sleep(Number(response.headers.get('retry-after') ?? 1) * 1000);
              } else {
                throw new Error(`upload answered ${response.status}`);
              }
            }
          })
        : [];
      if (uploading) await sleep(1000); // every uploader has a photo in flight
      runtime.imageLimiter.resetPeak();
      log(`limit ${limit}, ${phase}: ${LOGINS} sign-ins, ${SIGNIN_CLIENTS} clients`);
      const { latencies, seconds } = await runClosedLoop(SIGNIN_CLIENTS, LOGINS, signIn);
      const peakDecodes = runtime.imageLimiter.stats().peakActive;
      uploading = false;
      await Promise.all(uploaders);
      cases.push({ limit, phase, latencies, seconds, uploads, refused, uploadMs, peakDecodes });
    }
    return cases;
  } finally {
    await close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  log(`making ${UPLOADERS} photos of ${WIDTH}×${HEIGHT}`);
  const images: Buffer[] = [];
  for (let i = 0; i < UPLOADERS; i++) images.push(await largeJpeg(i * 23));
  const db = await createBenchDatabase('roomline_bench_photos');
  await prepareDatabase(db.url);
  const cases: Case[] = [];
  try {
    for (const limit of LIMITS) cases.push(...(await measure(db.url, limit, images)));
  } finally {
    await db.drop();
  }

  const rows = cases.map((c) => [
    String(c.limit),
    c.phase === 'idle' ? 'none' : `${UPLOADERS} uploaders`,
    formatNumber(c.latencies.length / c.seconds, 1),
    formatNumber(percentile(c.latencies, 0.5), 1),
    formatNumber(percentile(c.latencies, 0.95), 1),
    formatNumber(percentile(c.latencies, 0.99), 1),
    c.phase === 'idle' ? '—' : String(c.peakDecodes),
    c.phase === 'idle' ? '—' : `${c.uploads} (${formatNumber(c.uploads / c.seconds, 2)}/s)`,
    c.phase === 'idle' ? '—' : formatNumber(median(c.uploadMs), 0),
    c.phase === 'idle' ? '—' : String(c.refused),
  ]);
  const sizes = images.map((image) => image.length / 1024 / 1024);
  const report = [
    `# Photo uploads against sign-in (${new Date().toISOString()})`,
    '',
    'Command: `npm run bench:photos` (bench/photos.bench.ts): the real app on loopback, load generator in the same process.',
    `Sign-in: ${SIGNIN_CLIENTS} closed-loop clients, ${LOGINS} \`POST /api/auth/login\` per case (argon2id verify and the rest).`,
    `Uploads: ${UPLOADERS} clients each sending \`POST /api/rooms/{id}/photos\` with one ${WIDTH}×${HEIGHT} noisy JPEG`,
    `(${formatNumber(Math.min(...sizes), 2)}–${formatNumber(Math.max(...sizes), 2)} MB) again and again; a 503 waits its Retry-After.`,
    'Each upload is decoded fully (metadata check, upright re-encode without EXIF, WebP thumbnail); sharp.concurrency(1) in both cases.',
    '`IMAGE_DECODE_CONCURRENCY` 64 stands for no limit.',
    '',
    `Machine: nproc ${os.cpus().length}, Node ${process.version}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, load average after ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join('/')}.`,
    '',
    markdownTable(
      [
        'IMAGE_DECODE_CONCURRENCY',
        'uploads running',
        'sign-ins/s',
        'sign-in p50 ms',
        'sign-in p95 ms',
        'sign-in p99 ms',
        'peak decodes',
        'uploads done',
        'upload p50 ms',
        'uploads refused (503)',
      ],
      rows,
    ),
    '',
  ].join('\n');
  await publishReport('photos', report);
}

runBenchmark(main);
