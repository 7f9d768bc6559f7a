import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { loadState } from '../../commands/loadState.js';
import { runRoomCommand } from '../../commands/rooms.js';
import type { AddRoomPhotos } from '../../domain/rooms/commands.js';
import { type RoomState, roomDecider } from '../../domain/rooms/decider.js';
import { type RoomPhoto, roomStreamId } from '../../domain/rooms/events.js';
import { FILE_KEY_PATTERN, fileKeyOf } from '../../infra/fileStore/fileStore.js';
import { photoAudience } from '../../projections/rooms/photoAudience.js';
import { photoPath } from '../../projections/rooms/roomView.js';
import { positionOf } from '../answers.js';
import { commandFrom, ifMatchRevision, newAggregateId } from '../commandContext.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { type ImageLimiter, ImageLimiterBusy } from '../imageLimiter.js';
import { honourMinPosition } from '../readModels.js';
import { errors, IfMatchHeaders, MinPositionHeaders, Position, Uuid } from '../schemas.js';

export const PHOTO_LIMITS = {
  /** Bytes of one uploaded file. */
  fileBytes: 5 * 1024 * 1024,
  filesPerRequest: 10,
  /** Decoded size: refuses decompression bombs before sharp allocates them (48 MP phone photos pass). */
  pixels: 50_000_000,
  thumbnailWidth: 400,
  /** Re-encoding quality of stored JPEG originals: visually lossless for photos, and no larger than most uploads. */
  jpegQuality: 90,
} as const;

const tags = ['rooms'];
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Photos of rooms not published: the landlord's and admins' browsers may keep them, shared caches may not. */
const PRIVATE = 'private, no-cache';

type ImageType = RoomPhoto['contentType'];

const PhotoLinks = Type.Object({ id: Uuid, url: Type.String(), thumbnailUrl: Type.String() });
const PhotosAdded = Type.Object({
  photos: Type.Array(PhotoLinks, { description: 'the uploaded photos, in the order sent' }),
  position: Type.Union([Position, Type.Null()], { description: 'null when every image was already shown' }),
  revision: Type.String(),
});
const PhotoChange = Type.Object({ position: Type.Union([Position, Type.Null()]), revision: Type.String() });
const PhotoParams = Type.Object({ id: Uuid, photoId: Uuid });
/** A blob streamed from the file store as it is (OpenAPI: binary); fastify serialises no stream. */
const StoredBytes = Type.Unsafe<Readable>({ type: 'string', format: 'binary' });
/** An answer without a body (304): the handler sends nothing, so the type is `undefined`. */
const NoBody = (description: string) => Type.Unsafe<undefined>({ description, type: 'null' });
const KeyParams = Type.Object({
  key: Type.String({ pattern: FILE_KEY_PATTERN.source, description: 'SHA-256 of the file (64 hex digits)' }),
});

/** The image type by its first bytes; the declared type is never trusted. */
function sniff(bytes: Buffer): ImageType | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= png.length && png.every((byte, i) => bytes[i] === byte)) return 'image/png';
  return null;
}

/** An uploaded image as stored: upright, re-encoded without metadata, and its thumbnail. */
export interface Upload {
  bytes: Buffer;
  contentType: ImageType;
  width: number;
  height: number;
  thumbnail: Buffer;
}

const unsupported = (filename: string, reason: string) =>
  new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `${filename || 'a file'}: ${reason}; send JPEG or PNG images`, {
    filename,
    accepted: ['image/jpeg', 'image/png'],
  });

/**
 * Checks one file by its content (magic bytes, then a full decode), and makes what is stored: the image turned
 * upright by its EXIF orientation and re-encoded in its own format without EXIF, XMP or IPTC (camera, GPS
 * position, owner names), keeping only the ICC colour profile; and its thumbnail. Re-encoding costs a JPEG
 * one generation at quality 90; a PNG stays lossless (palette PNGs become true colour).
 */
async function inspect(bytes: Buffer, filename: string): Promise<Upload> {
  const contentType = sniff(bytes);
  if (!contentType) throw unsupported(filename, 'not a JPEG or PNG image');
  const image = sharp(bytes, { failOn: 'warning', limitInputPixels: PHOTO_LIMITS.pixels, sequentialRead: true });
  try {
    const metadata = await image.metadata();
    if (`image/${metadata.format}` !== contentType) throw new Error(`decodes as ${metadata.format}`);
    // Without withMetadata/keepExif sharp writes no EXIF; autoOrient applies the orientation before it goes.
    const upright = image.clone().autoOrient().keepIccProfile();
    const stored = await (contentType === 'image/jpeg'
      ? upright.jpeg({ quality: PHOTO_LIMITS.jpegQuality })
      : upright.png({ compressionLevel: 6 })
    ).toBuffer();
    // One after the other: each image holds one decode slot, so one libuv thread.
    const thumbnail = await image
      .clone()
      .autoOrient()
      .resize({ width: PHOTO_LIMITS.thumbnailWidth, withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer();
    const { width, height } = metadata.autoOrient;
    return { bytes: stored, contentType, width, height, thumbnail };
  } catch (error) {
    const reason =
      error instanceof Error && /pixel limit/i.test(error.message) ? 'too many pixels' : 'cannot be decoded';
    throw unsupported(filename, `the image ${reason}`);
  }
}

const multipartLimitErrors = new Set([
  'FST_REQ_FILE_TOO_LARGE',
  'FST_FILES_LIMIT',
  'FST_PARTS_LIMIT',
  'FST_FIELDS_LIMIT',
]);

export const busy = (retryAfterSeconds: number) =>
  new ApiError(
    503,
    'IMAGE_PROCESSING_BUSY',
    'too many photos are being processed right now; send them again shortly',
    { retryAfterSeconds },
    { 'retry-after': String(retryAfterSeconds) },
  );

/** `inspect` in a decode slot; 503 with Retry-After when every slot is taken and the queue is full. */
async function inspectBounded(limiter: ImageLimiter, bytes: Buffer, filename: string): Promise<Upload> {
  try {
    return await limiter.run(() => inspect(bytes, filename));
  } catch (error) {
    if (error instanceof ImageLimiterBusy) throw busy(error.retryAfterSeconds);
    throw error;
  }
}

/**
 * Every file of the multipart request, checked; other fields are ignored. Shared by every image upload (room photos,
 * message photos): the same types, sizes, decode limits, EXIF stripping and decode slots.
 */
export async function readUploads(
  request: FastifyRequest,
  limiter: ImageLimiter,
  maxFiles: number = PHOTO_LIMITS.filesPerRequest,
): Promise<Upload[]> {
  const uploads: Upload[] = [];
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      uploads.push(await inspectBounded(limiter, await part.toBuffer(), part.filename));
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const code = (error as { code?: string }).code ?? '';
    if (multipartLimitErrors.has(code)) {
      throw new ApiError(
        413,
        'PAYLOAD_TOO_LARGE',
        `at most ${maxFiles} files of ${PHOTO_LIMITS.fileBytes} bytes each per request`,
        { maxFileBytes: PHOTO_LIMITS.fileBytes, maxFiles },
      );
    }
    // Busboy's own complaints (no boundary, a body cut short) are the client's.
    throw new ApiError(400, 'MALFORMED_MULTIPART', `the multipart body cannot be read: ${(error as Error).message}`);
  }
  if (uploads.length === 0) throw new ApiError(400, 'NO_PHOTOS', 'send at least one JPEG or PNG file');
  return uploads;
}

async function loadRoom(deps: AppDeps, roomId: string): Promise<RoomState> {
  return (await loadState(deps.eventStore, roomStreamId(roomId), roomDecider)).state;
}

const linksOf = (photo: RoomPhoto) => ({
  id: photo.id,
  url: photoPath(photo.key),
  thumbnailUrl: photoPath(photo.thumbnailKey),
});

/** Matches `If-None-Match` against the ETag of a blob (its key), weak or strong, or `*`. */
function matchesEtag(header: string | undefined, key: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const value = tag.trim();
    return value === '*' || value.replace(/^W\//, '').replace(/"/g, '') === key;
  });
}

/** The multipart limits of an image upload of at most `files` files. */
export const imageMultipartLimits = (files: number) => ({
  fileSize: PHOTO_LIMITS.fileBytes,
  files,
  fields: 20,
  fieldSize: 1024,
  parts: files + 20,
  headerPairs: 50,
});

/** Refused before the body is read when the decode queue is already full: a burst costs no buffered files. */
export function refuseWhenImageQueueFull(limiter: ImageLimiter): void {
  if (limiter.stats().queued >= limiter.maxQueued) throw busy(limiter.retryAfterSeconds);
}

/** Multipart is parsed only for the upload: every other route keeps answering 415 to anything but JSON. */
const photoUploadRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  await app.register(multipart, { limits: imageMultipartLimits(PHOTO_LIMITS.filesPerRequest) });

  app.post(
    '/api/rooms/:id/photos',
    {
      config: { access: ['landlord', 'admin'] },
      schema: {
        tags,
        summary: 'Add photos to a room (multipart; JPEG or PNG by content, 5 MB each, 10 per request)',
        consumes: ['multipart/form-data'],
        params: Type.Object({ id: Uuid }),
        headers: IfMatchHeaders,
        response: { 201: PhotosAdded, ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503, 507) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!request.isMultipart()) {
        throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the photos as multipart/form-data');
      }
      const { context, envelope } = commandFrom(request, deps.clock);
      // The decider is asked before any file is read or stored: a stranger's upload costs nothing.
      const state = await loadRoom(deps, id);
      roomDecider.decide({ type: 'AddRoomPhotos', data: { roomId: id, photos: [] }, context }, state);

      refuseWhenImageQueueFull(deps.imageLimiter);
      const uploads = await readUploads(request, deps.imageLimiter);
      const photos: RoomPhoto[] = uploads.map((upload) => {
        const key = fileKeyOf(upload.bytes);
        return {
          id: newAggregateId(request, `photo:${key}`),
          key,
          thumbnailKey: fileKeyOf(upload.thumbnail),
          contentType: upload.contentType,
          width: upload.width,
          height: upload.height,
          bytes: upload.bytes.length,
        };
      });
      const command: AddRoomPhotos = { type: 'AddRoomPhotos', data: { roomId: id, photos }, context };
      // Refuses (e.g. TOO_MANY_PHOTOS) before the blobs are written; the command below decides again.
      roomDecider.decide(command, state);
      for (const upload of uploads) {
        await deps.fileStore.put(upload.bytes, upload.contentType);
        await deps.fileStore.put(upload.thumbnail, 'image/webp');
      }
      const result = await runRoomCommand(deps.eventStore, command, envelope, {
        maxRetries: deps.config.COMMAND_MAX_RETRIES,
        ifRevision: ifMatchRevision(request),
      });
      const shown = new Map(result.state.photos.map((photo) => [photo.key, photo]));
      const answered = [...new Set(photos.map((photo) => photo.key))].flatMap((key) => {
        const photo = shown.get(key);
        return photo ? [linksOf(photo)] : [];
      });
      // 201 as API.md fixes it, also when every image was already on the room (position null: nothing appended).
      return reply.code(201).send({
        photos: answered,
        position: positionOf(result),
        revision: result.revision?.toString() ?? '0',
      });
    },
  );
};

export const photoRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  await app.register(photoUploadRoutes, deps);

  app.delete(
    '/api/rooms/:id/photos/:photoId',
    {
      config: { access: ['landlord', 'admin'] },
      schema: {
        tags,
        summary: 'Remove a photo from a room (nothing happens for a photo it does not show)',
        params: PhotoParams,
        headers: IfMatchHeaders,
        response: { 200: PhotoChange, ...errors(400, 401, 403, 404, 409, 412, 422, 429) },
      },
    },
    async (request) => {
      const { id, photoId } = request.params;
      const { context, envelope } = commandFrom(request, deps.clock);
      const result = await runRoomCommand(
        deps.eventStore,
        { type: 'RemoveRoomPhoto', data: { roomId: id, photoId }, context },
        envelope,
        { maxRetries: deps.config.COMMAND_MAX_RETRIES, ifRevision: ifMatchRevision(request) },
      );
      return { position: positionOf(result), revision: result.revision?.toString() ?? '0' };
    },
  );

  app.get(
    '/api/photos/:key',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary:
          'A stored photo or thumbnail by its SHA-256: public and cacheable forever when a published room shows it; ' +
          'otherwise only for the landlord of a room showing it and admins (Authorization), private; 404 to others',
        params: KeyParams,
        headers: MinPositionHeaders,
        response: {
          200: {
            description: 'the image, byte for byte as stored',
            content: {
              'image/jpeg': { schema: StoredBytes },
              'image/png': { schema: StoredBytes },
              'image/webp': { schema: StoredBytes },
            },
          },
          304: NoBody('the ETag sent in If-None-Match is current'),
          ...errors(400, 401, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const { key } = request.params;
      await honourMinPosition(deps, request, 'rooms');
      // A 404 is never kept, so it does not outlive the upload or publication that follows it; it and a private
      // answer depend on who asks (Vary), while a published photo is the same for everyone.
      const notFound = () =>
        new ApiError(404, 'PHOTO_NOT_FOUND', 'no photo with this key', undefined, {
          'cache-control': 'no-store',
          vary: 'Authorization',
        });
      // 404, not 403, for a photo the viewer may not see: whether a draft's photo exists is not for strangers.
      const audience = await photoAudience(deps.pool, key, request.user);
      if (audience === 'none') throw notFound();
      const cacheable = () =>
        reply
          .headers(
            audience === 'public'
              ? { 'cache-control': IMMUTABLE }
              : { 'cache-control': PRIVATE, vary: 'Authorization' },
          )
          .header('etag', `"${key}"`)
          // Pages on other origins (the web front end) may show the images.
          .header('cross-origin-resource-policy', 'cross-origin');
      if (matchesEtag(request.headers['if-none-match'], key)) {
        if (!(await deps.fileStore.exists(key))) throw notFound();
        return cacheable().code(304).send();
      }
      const content = await deps.fileStore.get(key);
      if (!content) throw notFound();
      return cacheable()
        .header('content-type', content.contentType)
        .header('content-length', String(content.size))
        .send(content.body);
    },
  );
};
