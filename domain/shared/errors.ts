export const ErrorKind = {
  validation: 'validation',
  forbidden: 'forbidden',
  notFound: 'not_found',
  illegalState: 'illegal_state',
  conflict: 'conflict',
} as const;
export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

/** A rule of the business said no. `code` is machine-readable; the HTTP layer maps `kind` to a status. */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
