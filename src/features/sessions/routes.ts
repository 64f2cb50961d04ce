import { createRoute, z } from "@hono/zod-openapi";
import { readerGate } from "../../core/auth/reader-gate";
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

/** How many permissions `/session` lists for a signed-in user (the original's rule). */
const LISTED_PERMISSIONS = 10;

export const UserSessionSchema = z
  .object({
    user_type: z.literal("user"),
    user_id: z.string().uuid(),
    username: z.string(),
    email: z.string(),
    is_superadmin: z.boolean(),
    permissions: z.array(z.string()).openapi({
      description: `The first ${LISTED_PERMISSIONS} effective permissions, in code order (see \`permission_count\`).`,
      example: ["roles:list", "roles:read", "users:read"],
    }),
    permission_count: z
      .number()
      .int()
      .openapi({ description: "How many permissions the user has." }),
    token_expires_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("UserSession");

export const SessionSchema = z
  .discriminatedUnion("user_type", [GuestSessionSchema, UserSessionSchema])
  .openapi("Session");

const getSession = createRoute({
  method: "get",
  path: "/session",
  operationId: "getSession",
  tags: ["Guest Sessions"],
  summary: "The caller's session",
  description:
    "For a guest: the guest session this request was admitted with (a new one when none was presented), its quota and expiry. For a platform user presenting a valid access token: who they are and their first permissions. Never cached.",
  security: [{ GuestSession: [] }, { BearerAuth: [] }],
  responses: {
    200: jsonEnvelope(SessionSchema, "The session"),
    ...errorResponses(429, 503),
  },
});

export function sessionRoutes() {
  const router = createRouter();
  router.use("/session", readerGate());
  router.openapi(getSession, async (c) => {
    c.header("Cache-Control", "no-store");
    const principal = c.get("principal");
    if (principal) {
      const { identity, db } = c.get("deps");
      const permissions = (await identity?.permissions.effective(db, principal.id)) ?? [];
      return respond(
        c,
        UserSessionSchema.parse({
          user_type: "user",
          user_id: principal.id,
          username: principal.username,
          email: principal.email,
          is_superadmin: principal.is_superadmin,
          permissions: [...permissions].sort().slice(0, LISTED_PERMISSIONS),
          permission_count: permissions.length,
          token_expires_at: new Date(c.get("token").exp * 1000).toISOString(),
        }),
      );
    }
    const access = c.get("guest");
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
