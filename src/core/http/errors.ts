import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Stable, documented error codes. Clients switch on these, never on messages. */
export const errorCodes = {
  BAD_REQUEST: 400,
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  /** An `Idempotency-Key` whose first request is still being processed. */
  IDEMPOTENCY_KEY_IN_USE: 409,
  /** `If-Match` names a version that is no longer current. */
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** An `Idempotency-Key` reused with a different request. */
  IDEMPOTENCY_KEY_REUSED: 422,
  /** A write that must name the version it changes (`If-Match`) did not. */
  PRECONDITION_REQUIRED: 428,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorDetail {
  code: ErrorCode;
  message: string;
  /** For validation errors: the field, as a dotted path (`page_size`, `items.0.name`). */
  field?: string;
  /** For validation errors: where the field was (query, path, header, body). */
  location?: string;
}

/** The one error class. Thrown anywhere; turned into the envelope by the app's onError. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly details: ErrorDetail[];
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "ApiError";
    this.status = errorCodes[code];
    this.details = options.details ?? [{ code, message }];
    this.headers = options.headers ?? {};
  }

  /** An error whose one detail names the field (and where it was: body, path, query, header). */
  static about(code: ErrorCode, message: string, field?: string, location?: string): ApiError {
    return new ApiError(code, message, {
      details: [
        {
          code,
          message,
          ...(field ? { field } : {}),
          ...(location ? { location } : {}),
        },
      ],
    });
  }

  static notFound(message: string, field?: string, location?: string): ApiError {
    return ApiError.about("NOT_FOUND", message, field, location);
  }

  static badRequest(message: string, field?: string, location?: string): ApiError {
    return ApiError.about("BAD_REQUEST", message, field, location);
  }

  static conflict(message: string, field?: string, location?: string): ApiError {
    return ApiError.about("CONFLICT", message, field, location);
  }
}
