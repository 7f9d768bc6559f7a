import { GeocoderConfigurationError, type GeocoderProvider, GeocoderUnavailable } from './geocoder.js';

export interface ProviderResponse {
  status: number;
  body: unknown;
}

/**
 * One GET to a geocoding provider with a timeout, its failures sorted into the port's errors:
 * network errors, timeouts, 5xx and 429 are `GeocoderUnavailable`; any other non-2xx means the
 * provider refuses the request as made (`GeocoderConfigurationError`). Messages never carry the URL,
 * which may hold an API key.
 */
export async function fetchProviderJson(
  provider: GeocoderProvider,
  url: URL,
  init: { headers: Record<string, string>; timeoutMs: number; defaultRetryAfterSeconds: number },
): Promise<ProviderResponse> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json', ...init.headers },
      signal: AbortSignal.timeout(init.timeoutMs),
      redirect: 'follow',
    });
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new GeocoderUnavailable(provider, 'timeout', `no answer within ${init.timeoutMs} ms`, undefined, {
        cause: error,
      });
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new GeocoderUnavailable(
      provider,
      'network',
      cause?.code ?? cause?.message ?? (error as Error).message,
      init.defaultRetryAfterSeconds,
      { cause: error },
    );
  }

  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    const timedOut = (error as { name?: string }).name === 'TimeoutError';
    throw new GeocoderUnavailable(
      provider,
      timedOut ? 'timeout' : 'network',
      timedOut ? `response not complete within ${init.timeoutMs} ms` : 'response body cut off',
      init.defaultRetryAfterSeconds,
      { cause: error },
    );
  }

  if (response.status === 429) {
    throw new GeocoderUnavailable(
      provider,
      'rate_limited',
      'HTTP 429 Too Many Requests',
      retryAfterSeconds(response.headers.get('retry-after')) ?? init.defaultRetryAfterSeconds,
    );
  }
  if (response.status >= 500) {
    throw new GeocoderUnavailable(
      provider,
      'server_error',
      `HTTP ${response.status}`,
      retryAfterSeconds(response.headers.get('retry-after')) ?? init.defaultRetryAfterSeconds,
    );
  }
  if (response.status < 200 || response.status >= 300) {
    throw new GeocoderConfigurationError(
      provider,
      `${provider} refused the request with HTTP ${response.status}: ${text.slice(0, 200)}`,
    );
  }
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    throw new GeocoderUnavailable(
      provider,
      'invalid_response',
      `HTTP ${response.status} answer is not JSON: ${text.slice(0, 100)}`,
      init.defaultRetryAfterSeconds,
    );
  }
}

/** `Retry-After` as seconds (delta-seconds or an HTTP date), at least 1; `undefined` when absent or unreadable. */
export function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Math.max(1, Number(trimmed));
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(1, Math.ceil((at - Date.now()) / 1000));
}
