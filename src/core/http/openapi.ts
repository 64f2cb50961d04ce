import { z } from "@hono/zod-openapi";
import { errorCodes } from "./errors";

/** Envelope schemas and the error responses every route spreads in, declared once as components. */
export const MetadataSchema = z
  .object({
    timestamp: z.string().openapi({ format: "date-time", example: "2026-11-26T12:00:00.000Z" }),
    request_id: z.string().openapi({ example: "0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70" }),
    new_session_token: z.string().optional().openapi({
      description:
        "Present only on the response that created a guest session: the token to send as `X-Guest-Session` from now on.",
      example: "guest_0123456789abcdef0123456789abcdef:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd",
    }),
  })
  .openapi("ResponseMetadata");

export const ErrorDetailSchema = z
  .object({
    code: z.enum(
      Object.keys(errorCodes) as [keyof typeof errorCodes, ...(keyof typeof errorCodes)[]],
    ),
    message: z.string(),
    field: z.string().optional().openapi({ example: "page_size" }),
    location: z.string().optional().openapi({ example: "query" }),
  })
  .openapi("ErrorDetail");

export const ErrorEnvelopeSchema = z
  .object({
    success: z.literal(false),
    data: z.null(),
    message: z.string(),
    errors: z.array(ErrorDetailSchema),
    metadata: MetadataSchema,
  })
  .openapi("ErrorEnvelope");

export function envelope<T extends z.ZodTypeAny>(data: T) {
  return z.object({
    success: z.literal(true),
    data,
    message: z.string().nullable(),
    errors: z.null(),
    metadata: MetadataSchema,
  });
}

/** A required JSON request body (without `required`, a missing Content-Type yields `{}`). */
export function jsonBody<T>(schema: T) {
  return { required: true, content: { "application/json": { schema } } };
}

/** A JSON success response in the envelope, for route definitions. */
export function jsonEnvelope<T extends z.ZodTypeAny>(data: T, description: string) {
  return { description, content: { "application/json": { schema: envelope(data) } } };
}

const errorResponseDefinitions = {
  BadRequest: [
    400,
    "The request is malformed or failed validation (field-level details in `errors`).",
  ],
  Unauthorized: [401, "Missing or invalid credentials."],
  Forbidden: [403, "The caller lacks the permission this operation declares."],
  NotFound: [404, "The resource does not exist."],
  Conflict: [
    409,
    "The request conflicts with the current state (a unique field is taken, the resource is in use, or a request with the same `Idempotency-Key` is still in progress).",
  ],
  PreconditionFailed: [
    412,
    "`If-Match` names a version that is no longer current: read the resource again (its `ETag`) and retry.",
  ],
  UnprocessableEntity: [422, "This `Idempotency-Key` was already used with a different request."],
  PreconditionRequired: [428, "This write requires `If-Match` with the resource's current `ETag`."],
  PayloadTooLarge: [413, "The request body exceeds the configured limit."],
  TooManyRequests: [429, "A rate limit was exceeded; `Retry-After` says when to try again."],
  InternalError: [500, "An unexpected error; the log line with the same request id has details."],
  ServiceUnavailable: [503, "A dependency (database, cache) is unavailable."],
} as const;

type ErrorResponseName = keyof typeof errorResponseDefinitions;
type ErrorStatus = (typeof errorResponseDefinitions)[ErrorResponseName][0];

const nameByStatus = Object.fromEntries(
  Object.entries(errorResponseDefinitions).map(([name, [status]]) => [status, name]),
) as Record<ErrorStatus, ErrorResponseName>;

/** Component definitions registered once on the document. */
export const errorResponseComponents = Object.fromEntries(
  Object.entries(errorResponseDefinitions).map(([name, [, description]]) => [
    name,
    {
      description,
      content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } } },
    },
  ]),
);

const rateLimitHeaders = {
  "Retry-After": {
    description: "Seconds until the limit resets.",
    schema: { type: "integer" as const },
  },
  "RateLimit-Limit": {
    description: "The quota of the applied rule.",
    schema: { type: "integer" as const },
  },
  "RateLimit-Remaining": {
    description: "Hits left in the window.",
    schema: { type: "integer" as const },
  },
  "RateLimit-Reset": {
    description: "Seconds until the window refills.",
    schema: { type: "integer" as const },
  },
};
errorResponseComponents.TooManyRequests = {
  ...errorResponseComponents.TooManyRequests,
  headers: rateLimitHeaders,
} as (typeof errorResponseComponents)[string];

/** `...errorResponses(400, 404)` in a route's responses: references to the shared components. */
export function errorResponses(...statuses: ErrorStatus[]) {
  const all: ErrorStatus[] = [...new Set<ErrorStatus>([...statuses, 500])];
  return Object.fromEntries(
    all.map((status) => [status, { $ref: `#/components/responses/${nameByStatus[status]}` }]),
  ) as Record<number, { $ref: string }>;
}
