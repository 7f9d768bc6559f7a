import type { FastifyInstance } from 'fastify';
import { OpenAPIBackend, type Operation } from 'openapi-backend';

/** The formats the document uses, as the app's validator (ajv-formats) reads them. */
const FORMATS: Record<string, RegExp | ((value: string) => boolean)> = {
  uuid: /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i,
  'date-time': (value) =>
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:?\d{2})$/.test(value) &&
    !Number.isNaN(Date.parse(value)),
  date: /^\d{4}-\d{2}-\d{2}$/,
  email: /^[^\s@]+@[^\s@]+$/,
  uri: /^[a-z][a-z0-9+.-]*:/i,
  'uri-reference': () => true,
};

export interface RecordedResponse {
  method: string;
  url: string;
  status: number;
  headers: Record<string, unknown>;
  body: string;
  /** The route's own pattern (`/api/rooms/:id`), when known: an empty path parameter still finds its operation. */
  route?: string;
}

/**
 * Checks real answers against the app's own OpenAPI document (openapi-backend): the route and status are
 * documented, and a JSON body matches the documented schema. Returns the violations, or [] when it conforms.
 */
export async function openapiValidator(app: FastifyInstance) {
  const definition = structuredClone(app.swagger()) as unknown as {
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
  // openapi-backend finds validators by operation id: name any operation the document left unnamed.
  for (const [path, operations] of Object.entries(definition.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) operation.operationId ??= `${method} ${path}`;
  }
  const api = new OpenAPIBackend({
    definition: definition as never,
    strict: false,
    validate: true,
    quick: false,
    customizeAjv: (ajv: import('ajv').default) => {
      for (const [name, format] of Object.entries(FORMATS)) ajv.addFormat(name, format);
      return ajv;
    },
  });
  await api.init();
  const covered = new Set<string>();
  const byKey = new Map(api.getOperations().map((op: Operation) => [`${op.method.toUpperCase()} ${op.path}`, op]));
  const operations = [...byKey.keys()];
  return {
    operations,
    covered,
    check(response: RecordedResponse): string[] {
      const [path = '', search = ''] = response.url.split('?');
      const documentPath = response.route?.replace(/:(\w+)/g, '{$1}');
      const operation = documentPath
        ? byKey.get(`${response.method} ${documentPath}`)
        : api.router.matchOperation({ method: response.method, path, query: search, headers: {} } as never);
      const what = `${response.method} ${response.url.slice(0, 300)} → ${response.status}`;
      if (!operation) {
        // An answer of the not-found handler for a path that is no route (e.g. an empty path parameter).
        if (response.status === 404) return [];
        return [`${what}: no operation in the document`];
      }
      const key = `${operation.method.toUpperCase()} ${operation.path}`;
      covered.add(`${key} ${response.status}`);
      const responses = (operation.responses ?? {}) as Record<string, { content?: Record<string, unknown> }>;
      const documented = responses[String(response.status)] ?? responses[`${String(response.status)[0]}XX`];
      if (!documented) return [`${what}: status ${response.status} not documented for ${key}`];
      const type = String(response.headers['content-type'] ?? '');
      if (!type.startsWith('application/json')) {
        if (documented.content && !documented.content['application/json'] && Object.keys(documented.content).length)
          return [];
        return documented.content?.['application/json'] && response.body.length > 0
          ? [`${what}: documented as JSON, answered ${type}`]
          : [];
      }
      let body: unknown;
      try {
        body = JSON.parse(response.body);
      } catch {
        return [`${what}: content-type JSON but the body is not JSON`];
      }
      const result = api.validateResponse(body, operation as never, response.status);
      return result.valid
        ? []
        : [`${what}: body does not match ${key} ${response.status}: ${JSON.stringify(result.errors).slice(0, 600)}`];
    },
  };
}
