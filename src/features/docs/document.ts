import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/deps";
import { ErrorEnvelopeSchema, errorResponseComponents } from "../../core/http/openapi";

/** Scalar's sidebar sections: the original's groups; each tag in exactly one. */
export const tagGroups = [
  { name: "Authentication & Authorization", tags: ["Authentication", "Permissions", "Roles"] },
  { name: "User Management", tags: ["Platform Users", "User Profile", "User Settings"] },
  {
    name: "Organization Management",
    tags: ["Organizations", "Organization Settings", "Organization Members"],
  },
  { name: "Tenant Management", tags: ["Tenants", "Tenant Settings", "Tenant Users"] },
  { name: "Infrastructure", tags: ["Regions", "Database Connections"] },
  { name: "Reference Data", tags: ["Currencies", "Countries", "Languages", "Guest Sessions"] },
  {
    name: "Billing & Subscriptions",
    tags: ["Billing", "Subscriptions", "Invoices", "Payment Methods"],
  },
  { name: "Analytics & Reports", tags: ["Analytics", "Reports", "Metrics"] },
  { name: "System", tags: ["Health", "Configuration", "Migrations", "Monitoring", "Audit"] },
];

const tagDescriptions: Record<string, string> = {
  Currencies: "ISO 4217 currencies, current and historical. Readable by guest sessions.",
  Countries:
    "ISO 3166-1 countries with region, continent, calling code, currency and GDPR applicability.",
  Languages: "ISO 639 languages with native names and writing direction.",
  "Guest Sessions": "Anonymous, rate-limited sessions for reading public reference data.",
  Health: "Liveness, readiness and dependency health.",
  Authentication:
    "Sign in through Keycloak (password grant in the admin realm), refresh, sign out, the current user, and password changes and resets.",
  Permissions:
    "The permission registry (`resource:action` codes), the caller's own permission checks, and the sync of route-declared permissions.",
  Regions:
    "Where tenants live: regions with their compliance facts, capacity and costs. Regions are deactivated, never deleted, and only when nothing active runs in them.",
  "Database Connections":
    "The regional PostgreSQL databases tenants are placed on: connection settings (passwords encrypted at rest, never returned), health checks and the health summary.",
  "Platform Users":
    "Platform administrators and operators: list, search, create, change, deactivate and (soft) delete them, in bulk too, and sync a user from a Keycloak token.",
  "User Profile": "The signed-in user's own profile, preferences and onboarding.",
  Organizations:
    "Customer organizations that own tenants: create, change and (soft) delete them, find them by slug.",
  "Organization Settings":
    "Per-organization configuration as JSON values by key: read them all, set or remove several keys in one audited write. Not for secrets.",
  "Organization Members":
    "Which platform users belong to an organization, and as what (owner, admin, billing, member). Membership grants no API permission.",
  Audit:
    "Every change made through the API, with who, when, why (`X-Audit-Reason`) and the before and after images; filterable, paged by cursor, exportable as NDJSON.",
  Roles:
    "Platform and tenant roles: create and change custom roles and their permissions, assign platform roles to users (with expiry and `max_assignees`), and see a user's grants. Seeded system roles are read-only.",
};

export type OpenApiDocument = ReturnType<OpenAPIHono["getOpenAPI31Document"]> & {
  "x-tagGroups"?: { name: string; tags: string[] }[];
};

/**
 * Builds the OpenAPI 3.1 document from the route definitions. Called once per app (the result is
 * memoised by the caller): generating it walks every schema.
 */
export function buildDocument(app: OpenAPIHono<AppEnv>, version: string): OpenApiDocument {
  const registry = app.openAPIRegistry;
  registry.register("ErrorEnvelope", ErrorEnvelopeSchema);
  for (const [name, response] of Object.entries(errorResponseComponents)) {
    registry.registerComponent("responses", name, response);
  }
  registry.registerComponent("securitySchemes", "BearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A Keycloak access token of the admin realm.",
  });
  registry.registerComponent("securitySchemes", "GuestSession", {
    type: "apiKey",
    in: "header",
    name: "X-Guest-Session",
    description:
      "A guest session token (`guest_<id>:<secret>`). Omit it on the first request: the response creates a session and returns its token in `X-Guest-Session` and `metadata.new_session_token`.",
  });
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "NeoAdmin API",
      version,
      description:
        "Platform administration API of a multi-tenant SaaS platform: users, roles and permissions, organizations, tenants and their regional provisioning, billing, regions and database connections, and public reference data for guest sessions.\n\nEvery response uses one envelope: `{ success, data, message, errors, metadata: { timestamp, request_id } }`.",
      contact: { name: "NeoAdmin platform team" },
    },
    servers: [{ url: "/", description: "This server" }],
  }) as OpenApiDocument;

  // Set here because the generator's input type is OpenAPI 3.0's, which has no `identifier`: an
  // SPDX reference to a licence outside the SPDX list, as 3.1 allows.
  document.info.license = { name: "Proprietary", identifier: "LicenseRef-Proprietary" };

  const used = new Set<string>();
  const referenced = new Set<string>();
  for (const operation of operationsOf(document)) {
    for (const tag of operation.tags ?? []) used.add(tag);
    // onError answers any operation with a 500 in the envelope, declared or not: say so.
    operation.responses ??= {};
    operation.responses["500"] ??= { $ref: "#/components/responses/InternalError" };
    for (const response of Object.values(operation.responses)) {
      const ref = (response as { $ref?: unknown }).$ref;
      if (typeof ref === "string") referenced.add(ref);
    }
  }
  // Like tags, an error response no operation uses yet stays out until one does.
  const responses = document.components?.responses ?? {};
  for (const name of Object.keys(responses)) {
    if (!referenced.has(`#/components/responses/${name}`)) delete responses[name];
  }
  // A tag with no operations yet stays out of the document until it has some.
  document["x-tagGroups"] = tagGroups
    .map((group) => ({ name: group.name, tags: group.tags.filter((t) => used.has(t)) }))
    .filter((group) => group.tags.length > 0);
  document.tags = [...used]
    .sort()
    .map((name) => ({ name, description: tagDescriptions[name] ?? name }));
  return document;
}

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

interface Operation {
  tags?: string[];
  responses?: Record<string, unknown>;
}

function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.values(document.paths ?? {}).flatMap((item) =>
    methods.flatMap((method) => {
      const operation = (
        item as Partial<Record<(typeof methods)[number], Operation>> | undefined
      )?.[method];
      return operation ? [operation] : [];
    }),
  );
}
