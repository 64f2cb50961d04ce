import { createRoute, z } from "@hono/zod-openapi";
import { guestGate } from "../../core/auth/guest-gate";
import { respond } from "../../core/http/envelope";
import { ApiError } from "../../core/http/errors";
import { errorResponses, jsonEnvelope } from "../../core/http/openapi";
import { createRouter } from "../../core/http/router";

export const GuestSessionSchema = z
  .object({
    user_type: z.literal("guest"),
    session_id: z.string().openapi({ example: "0123456789abcdef0123456789abcdef" }),
    permissions: z.array(z.string()).openapi({ example: ["reference_data:read"] }),
    rate_limit: z.object({
      limit: z.number().int(),
      remaining: z.number().int(),
      reset_at: z.string().openapi({ format: "date-time" }),
    }),
    request_count: z
      .number()
      .int()
      .openapi({ description: "Requests made with this session, this one included." }),
    created_at: z.string().openapi({ format: "date-time" }),
    expires_at: z.string().openapi({ format: "date-time" }),
    new_session_token: z
      .string()
      .optional()
      .openapi({ description: "Present only when this request created the session." }),
  })
  .openapi("GuestSession");

const getSession = createRoute({
  method: "get",
  path: "/session",
  operationId: "getSession",
  tags: ["Guest Sessions"],
  summary: "The caller's guest session",
  description:
    "Shows the guest session this request was admitted with (a new one when none was presented), its quota and expiry. Never cached.",
  security: [{ GuestSession: [] }, { BearerAuth: [] }],
  responses: {
    200: jsonEnvelope(GuestSessionSchema, "The session"),
    ...errorResponses(429, 503),
  },
});

export function sessionRoutes() {
  const router = createRouter();
  router.use("/session", guestGate());
  router.openapi(getSession, (c) => {
    const access = c.var.guest;
    c.header("Cache-Control", "no-store");
    if (!access.session) {
      throw new ApiError("SERVICE_UNAVAILABLE", "Guest sessions are temporarily unavailable", {
        headers: { "Retry-After": "30" },
      });
    }
    const { session, rateLimit } = access;
    return respond(
      c,
      GuestSessionSchema.parse({
        user_type: "guest",
        session_id: session.id,
        permissions: ["reference_data:read"],
        rate_limit: {
          limit: rateLimit.limit,
          remaining: rateLimit.remaining,
          reset_at: new Date(rateLimit.reset).toISOString(),
        },
        request_count: rateLimit.limit - rateLimit.remaining,
        created_at: session.created_at,
        expires_at: session.expires_at,
        ...(access.newSessionToken ? { new_session_token: access.newSessionToken } : {}),
      }),
    );
  });
  return router;
}
