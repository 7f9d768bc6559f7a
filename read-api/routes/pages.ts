import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';

const PAGES = new URL('../pages/', import.meta.url);

/** The pages: HTML with no data in it; their scripts call the API, which authorizes every figure. */
const PAGE_FILES = [
  {
    url: '/analytics',
    file: 'analytics.html',
    summary: 'The analytics dashboard page: sign in as an admin or an analyst, pick a period, see the charts',
  },
  {
    url: '/ops',
    file: 'ops.html',
    summary:
      'The operations page: sign in as support or an admin; projections, lag, rebuilds, pause/resume, parked events',
  },
] as const;

/** The pages' own scripts and styles, by name under read-api/pages/assets/. */
const ASSET_FILES = {
  'session.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'analytics.js': 'text/javascript; charset=utf-8',
  'ops.js': 'text/javascript; charset=utf-8',
  'pages.css': 'text/css; charset=utf-8',
} as const;

/** Cached for a year: the page names the file with the library's version, so an upgrade is a new URL. */
const VENDOR_CACHE = 'public, max-age=31536000, immutable';
/** Revalidated each time (the ETag answers 304): a deploy shows at once. */
const OWN_CACHE = 'no-cache';

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
  cache: string;
}

function staticFile(body: Buffer, type: string, cache: string): StaticFile {
  return { body, type, cache, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile): void {
  void reply.header('etag', file.etag).header('cache-control', file.cache).type(file.type);
  void (request.headers['if-none-match'] === file.etag ? reply.code(304).send() : reply.send(file.body));
}

/** Chart.js's UMD build, found through Node's resolution from this module (no path of the machine written here). */
async function chartJs(): Promise<{ version: string; file: StaticFile }> {
  const dist = dirname(createRequire(import.meta.url).resolve('chart.js'));
  const manifest = JSON.parse(await readFile(join(dist, '..', 'package.json'), 'utf8')) as { version: string };
  const body = await readFile(join(dist, 'chart.umd.js'));
  return { version: manifest.version, file: staticFile(body, 'text/javascript; charset=utf-8', VENDOR_CACHE) };
}

/**
 * `GET /analytics`, `GET /ops` with their scripts and styles, read once at start-up. The HTML
 * carries no inline script or style, so the app's CSP (`script-src 'self'`) stays as it is.
 */
export const pageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const chart = await chartJs();
  const hidden = { hide: true };

  app.get('/assets/vendor/chart.umd.js', { config: { access: 'public' }, schema: hidden }, (request, reply) => {
    send(request, reply, chart.file);
  });

  for (const [name, type] of Object.entries(ASSET_FILES)) {
    const file = staticFile(await readFile(new URL(`assets/${name}`, PAGES)), type, OWN_CACHE);
    app.get(`/assets/pages/${name}`, { config: { access: 'public' }, schema: hidden }, (request, reply) => {
      send(request, reply, file);
    });
  }

  for (const page of PAGE_FILES) {
    const html = (await readFile(new URL(page.file, PAGES), 'utf8')).replaceAll(
      '{{chartJsVersion}}',
      encodeURIComponent(chart.version),
    );
    const file = staticFile(Buffer.from(html), 'text/html; charset=utf-8', OWN_CACHE);
    app.get(
      page.url,
      {
        config: { access: 'public' },
        schema: {
          tags: ['pages'],
          summary: page.summary,
          description: 'An HTML page (no data in it); its script calls the API with the token of the person signed in.',
          response: {
            200: { description: 'the page', content: { 'text/html': { schema: Type.String() } } },
            304: { description: 'the page is unchanged (If-None-Match)', type: 'null' },
          },
        },
      },
      (request, reply) => {
        send(request, reply, file);
      },
    );
  }
};
