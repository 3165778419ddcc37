/**
 * The registry error table: every error a client can see, with its HTTP status, as the OCI
 * distribution spec names them. Code anywhere throws a `RegistryError`; one place per app (its
 * `onError`) renders it as `{"errors":[{"code","message","detail"}]}`.
 */

/** Error codes of the distribution spec, with the status each is answered with. */
export const ERROR_TABLE = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 404, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  RANGE_INVALID: { status: 416, message: 'requested range not satisfiable' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  UNKNOWN: { status: 500, message: 'unknown error' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** The JSON body of an error response, as the distribution spec defines it. */
export interface ErrorBody {
  errors: { code: ErrorCode; message: string; detail?: unknown }[];
}

/** An error a client is meant to see: a code from the table, a message, optional detail. */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;
  /** Extra response headers (e.g. `Retry-After` with TOOMANYREQUESTS). */
  readonly headers: Record<string, string>;
  /** The HTTP reason phrase to answer with (ASCII, one line), for clients that see nothing else. */
  readonly reason: string | undefined;
  readonly #status: number | undefined;

  constructor(
    code: ErrorCode,
    message: string = ERROR_TABLE[code].message,
    options: { detail?: unknown; headers?: Record<string, string>; cause?: unknown; status?: number; reason?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.reason = options.reason;
    this.#status = options.status;
  }

  /** The HTTP status this error is answered with: the table's, unless the error says otherwise. */
  get status(): number {
    return this.#status ?? ERROR_TABLE[this.code].status;
  }

  /** The response body for this error. */
  toBody(): ErrorBody {
    const entry: ErrorBody['errors'][number] = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}

/** The longest reason phrase sent (containerd prints it whole). */
const MAX_REASON_LENGTH = 160;

/**
 * A request the registry understood but cannot serve because of what it asks for (a requested
 * package fails to build or is refused by its package set): 400 MANIFEST_UNKNOWN with the message,
 * and the message again as the HTTP reason phrase. docker, podman, skopeo and crane print a 4xx
 * body; containerd resolves with HEAD only (no body) and prints the status line of a non-404
 * answer, so the phrase is all it can show. (Measured with each client: see the README.)
 */
export function requestRefused(message: string, options: { detail?: unknown; cause?: unknown } = {}): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', message, { ...options, status: 400, reason: reasonPhrase(message) });
}

/** A message as an HTTP reason phrase: printable ASCII on one line, shortened. */
export function reasonPhrase(message: string): string {
  const ascii = message
    .replace(/[‘’]/g, "'")
    .replace(/[“”]/g, '"')
    .replace(/…/g, '...')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return ascii.length > MAX_REASON_LENGTH ? `${ascii.slice(0, MAX_REASON_LENGTH - 3)}...` : ascii;
}
