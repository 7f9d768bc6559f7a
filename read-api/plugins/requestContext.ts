import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    correlationId: string;
  }
}

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Request and correlation ids: taken from the caller when well-formed, echoed back, carried by every log line. */
export function registerRequestContext(app: FastifyInstance): void {
  app.decorateRequest('correlationId', '');
  app.addHook('onRequest', async (request, reply) => {
    const given = request.headers['x-correlation-id'];
    request.correlationId = typeof given === 'string' && SAFE_ID.test(given) ? given : request.id;
    request.log = request.log.child({ correlationId: request.correlationId });
    reply.log = request.log;
    void reply.header('x-request-id', request.id);
    void reply.header('x-correlation-id', request.correlationId);
  });
}

export function requestIdFrom(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && SAFE_ID.test(header) ? header : undefined;
}
