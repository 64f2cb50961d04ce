import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { protectedRoute } from "../../core/auth/protected-route";
import type { AppEnv } from "../../core/deps";
import { respond } from "../../core/http/envelope";
import { ApiError } from "../../core/http/errors";
import { errorResponses, jsonBody, jsonEnvelope } from "../../core/http/openapi";
import { createRouter } from "../../core/http/router";
import {
  ChangePasswordRequestSchema,
  ForgotPasswordRequestSchema,
  LoginRequestSchema,
  LoginResponseSchema,
  LogoutRequestSchema,
  MessageSchema,
  RefreshRequestSchema,
  ResetPasswordRequestSchema,
  TokensSchema,
  UserProfileSchema,
} from "./schemas";
import { type AuthContext, auth } from "./service";

const tags = ["Authentication"];
/** The refresh-token cookie: HttpOnly, Secure, SameSite=Strict, sent only to the auth routes. */
const REFRESH_COOKIE = "neoadmin_refresh";
const COOKIE_PATH = "/api/v1/auth";

function ctxOf(c: Context<AppEnv>): AuthContext {
  const { db, cache, identity, rateLimiter } = c.get("deps");
  if (!identity) throw new ApiError("SERVICE_UNAVAILABLE", "No identity provider is configured");
  return { db, cache, identity, rateLimiter, log: c.get("log"), clientIp: c.get("clientIp")() };
}

export function authRoutes() {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "post",
      path: "/auth/login",
      operationId: "login",
      tags,
      security: [],
      summary: "Sign in with username and password",
      description:
        "Password grant in the admin realm. Creates or refreshes the platform user from the token and returns the tokens with the user's profile (roles, permissions, tenants). Limited per username and per address.",
      request: { body: jsonBody(LoginRequestSchema) },
      responses: {
        200: jsonEnvelope(LoginResponseSchema, "Signed in"),
        ...errorResponses(400, 401, 403, 429, 503),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const result = await auth.login(ctxOf(c), input);
      c.header("Cache-Control", "no-store");
      if (input.remember_me && result.refresh_token) {
        setCookie(c, REFRESH_COOKIE, result.refresh_token, {
          httpOnly: true,
          secure: true,
          sameSite: "Strict",
          path: COOKIE_PATH,
          maxAge: result.refresh_expires_in,
        });
      }
      return respond(c, LoginResponseSchema.parse(result));
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/auth/refresh",
      operationId: "refreshTokens",
      tags,
      security: [],
      summary: "Exchange a refresh token for new tokens",
      description: "Uses `refresh_token` from the body, or the refresh-token cookie set by login.",
      request: { body: jsonBody(RefreshRequestSchema) },
      responses: {
        200: jsonEnvelope(TokensSchema, "New tokens"),
        ...errorResponses(400, 401, 503),
      },
    }),
    async (c) => {
      const token = c.req.valid("json").refresh_token ?? getCookie(c, REFRESH_COOKIE);
      if (!token) throw ApiError.badRequest("A refresh token is required", "refresh_token", "body");
      c.header("Cache-Control", "no-store");
      return respond(c, TokensSchema.parse(await auth.refresh(ctxOf(c), token)));
    },
  );

  router.openapi(
    protectedRoute(
      { introspect: true },
      {
        method: "post",
        path: "/auth/logout",
        operationId: "logout",
        tags,
        summary: "Sign out of this session, or everywhere",
        description:
          "Ends the session of `refresh_token` (or of the refresh-token cookie); `everywhere` ends every session of the user. The access token is checked with the identity provider, so a signed-out token cannot sign out again.",
        request: { body: jsonBody(LogoutRequestSchema) },
        responses: { 200: jsonEnvelope(MessageSchema, "Signed out"), ...errorResponses(400) },
      },
    ),
    async (c) => {
      const input = c.req.valid("json");
      const authorization = c.req.header("authorization") ?? "";
      const result = await auth.logout(ctxOf(c), {
        accessToken: authorization.replace(/^Bearer\s+/i, "").trim(),
        claims: c.get("token"),
        refreshToken: input.refresh_token ?? getCookie(c, REFRESH_COOKIE),
        everywhere: input.everywhere,
      });
      deleteCookie(c, REFRESH_COOKIE, { path: COOKIE_PATH, secure: true });
      return respond(c, result);
    },
  );

  router.openapi(
    protectedRoute(
      {},
      {
        method: "get",
        path: "/auth/me",
        operationId: "getCurrentUser",
        tags,
        summary: "The signed-in user's profile",
        description: "Profile, roles, effective permissions and accessible tenants.",
        responses: { 200: jsonEnvelope(UserProfileSchema, "The profile") },
      },
    ),
    async (c) => {
      c.header("Cache-Control", "no-store");
      return respond(c, UserProfileSchema.parse(await auth.me(ctxOf(c), c.get("principal"))));
    },
  );

  router.openapi(
    protectedRoute(
      {},
      {
        method: "post",
        path: "/auth/change-password",
        operationId: "changePassword",
        tags,
        summary: "Change the signed-in user's password",
        description:
          "Checks the current password with the identity provider, then sets the new one (12+ characters with upper- and lower-case letters and a digit).",
        request: { body: jsonBody(ChangePasswordRequestSchema) },
        responses: { 200: jsonEnvelope(MessageSchema, "Changed"), ...errorResponses(400, 429) },
      },
    ),
    async (c) => {
      const input = c.req.valid("json");
      const result = await auth.changePassword(ctxOf(c), {
        claims: c.get("token"),
        username: c.get("principal").username,
        current: input.current_password,
        next: input.new_password,
      });
      return respond(c, result);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/auth/forgot-password",
      operationId: "forgotPassword",
      tags,
      security: [],
      summary: "Ask for a password reset email",
      description:
        "The identity provider emails a link to set a new password. The answer is the same whether or not the account exists.",
      request: { body: jsonBody(ForgotPasswordRequestSchema) },
      responses: { 202: jsonEnvelope(MessageSchema, "Accepted"), ...errorResponses(400, 429, 503) },
    }),
    async (c) =>
      respond(c, await auth.forgotPassword(ctxOf(c), c.req.valid("json").login), { status: 202 }),
  );

  router.openapi(
    protectedRoute(
      { code: "auth:reset_password" },
      {
        method: "post",
        path: "/auth/reset-password",
        operationId: "resetPassword",
        tags,
        summary: "Send a user a password reset email",
        description:
          "An administrator makes the identity provider email the user a link to set a new password.",
        request: { body: jsonBody(ResetPasswordRequestSchema) },
        responses: { 202: jsonEnvelope(MessageSchema, "Sent"), ...errorResponses(400, 404) },
      },
    ),
    async (c) =>
      respond(c, await auth.resetPassword(ctxOf(c), c.req.valid("json").user_id), { status: 202 }),
  );

  return router;
}
