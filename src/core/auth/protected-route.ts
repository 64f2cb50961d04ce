import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import { IdempotencyKeyHeader, idempotent } from "../http/idempotency";
import { errorResponses } from "../http/openapi";
import { authorize, type PermissionRequirement } from "./authorize";

/** The OpenAPI extension carrying a route's declared permission, read by the permission sync. */
export const PERMISSION_EXTENSION = "x-permission";

export interface DeclaredPermission {
  code: string | null;
  dangerous: boolean;
  introspection: boolean;
}

/**
 * A protected route: one declaration of its permission that both documents it (`x-permission`,
 * the description, the 401/403 responses, `security`) and enforces it (the `authorize`
 * middleware runs before validation, so an anonymous caller learns nothing from a 400).
 */
export function protectedRoute<const R extends RouteConfig>(
  requirement: PermissionRequirement,
  route: R,
) {
  const declared: DeclaredPermission = {
    code: requirement.code ?? null,
    dangerous: Boolean(requirement.dangerous),
    introspection: Boolean(requirement.dangerous || requirement.introspect),
  };
  const note = declared.code
    ? `Requires permission \`${declared.code}\`${declared.dangerous ? " (dangerous: the token is also checked with the identity provider on every call)" : ""}.`
    : requirement.allowUnregistered
      ? "Requires an access token of the admin realm; its account need not be a platform user yet."
      : "Requires a signed-in platform user.";
  const existing = Array.isArray(route.middleware)
    ? route.middleware
    : route.middleware
      ? [route.middleware]
      : [];
  // Every protected POST honours Idempotency-Key (documented as a header parameter).
  const isPost = route.method === "post";
  const headers = route.request?.headers;
  // Typed as the route's own request: the added header is documentation plus the middleware.
  const request = (
    isPost
      ? {
          ...route.request,
          headers:
            headers instanceof z.ZodObject
              ? headers.extend(IdempotencyKeyHeader.shape)
              : IdempotencyKeyHeader,
        }
      : route.request
  ) as R["request"];
  return createRoute({
    ...route,
    ...(request ? { request } : {}),
    description: route.description ? `${route.description}\n\n${note}` : note,
    security: [{ BearerAuth: [] }],
    [PERMISSION_EXTENSION]: declared,
    middleware: [authorize(requirement), ...(isPost ? [idempotent()] : []), ...existing] as const,
    responses: {
      ...route.responses,
      ...errorResponses(401, 403, 503, ...(isPost ? ([409, 422] as const) : [])),
    },
  });
}
