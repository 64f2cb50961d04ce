import { z } from "@hono/zod-openapi";
import { isPermissionCode } from "../../core/auth/permission-codes";
import { CursorPaginationSchema, CursorQuery } from "../../core/http/cursor";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PaginationSchema } from "../../core/http/pagination";
import { queryBoolean, queryCsv, querySearch, querySort } from "../../core/http/query";

/** The identity providers a platform user may come from (`admin.auth_provider`). */
export const AUTH_PROVIDERS = [
  "keycloak",
  "auth0",
  "authelia",
  "authentik",
  "azure",
  "google",
  "custom",
] as const;

/** Sort fields and their natural direction; never-signed-in users sort as the oldest sign-in. */
export const USER_SORTS = {
  created_at: "desc",
  username: "asc",
  email: "asc",
  last_login_at: "desc",
} as const;
export type UserSort = keyof typeof USER_SORTS;

/** What `search` (and `POST /users/search`'s `query`) may match. */
export const SEARCH_FIELDS = [
  "email",
  "username",
  "first_name",
  "last_name",
  "display_name",
  "company",
  "job_title",
] as const;
export type SearchField = (typeof SEARCH_FIELDS)[number];

/**
 * Same shape as the database's CHECK, so a refusal is a 400 naming `email`, not a 500. Both cases
 * spelled out rather than an `i` flag: the document's `pattern` carries no flags, and readers
 * (and linters) would match examples against an upper-case-only pattern.
 */
const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;
/** Keycloak's usernames: lower case (it folds them), letters, digits, `.`, `_`, `-`, `@`. */
export const USERNAME = /^[a-z0-9](?:[a-z0-9._@-]*[a-z0-9])?$/;
const PHONE = /^\+[1-9][0-9]{6,14}$/;
const ONE_LINE = /^[^\p{Cc}]*$/u;

function isTimeZone(value: string): boolean {
  // Intl also takes UTC offsets (`+01:00`); the column holds IANA names only.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

function isLocale(value: string): boolean {
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(value)) return false;
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
}

const email = z
  .string()
  .trim()
  .max(320)
  .regex(EMAIL, "expected an email address")
  .transform((v) => v.toLowerCase())
  .openapi({ format: "email", example: "ada@example.com" });
const username = z
  .string()
  .trim()
  .transform((v) => v.toLowerCase())
  .pipe(
    z
      .string()
      .min(3)
      .max(39)
      .regex(
        USERNAME,
        "expected 3 to 39 lower-case letters, digits, '.', '_', '-' or '@', starting and ending with a letter or digit",
      ),
  )
  .openapi({ type: "string", example: "ada.lovelace" });
const timezone = z
  .string()
  .trim()
  .max(50)
  .refine(isTimeZone, "expected an IANA time zone, e.g. Europe/Dublin")
  .openapi({ example: "Europe/Dublin" });
const locale = z
  .string()
  .trim()
  .max(10)
  .refine(isLocale, "expected a BCP 47 language tag, e.g. en-IE")
  .openapi({ example: "en-IE" });
const text = (max: number) => z.string().trim().min(1).max(max).nullable().optional();
const jsonObject = z
  .record(z.string(), z.unknown())
  .openapi({ type: "object", additionalProperties: true, example: {} });
const reason = z
  .string()
  .trim()
  .min(1)
  .max(500)
  .regex(ONE_LINE, "expected one line of text")
  .optional()
  .openapi({ description: "Why; recorded in the audit entry (else `X-Audit-Reason`)." });

/** The fields a person fills in about themself (they make up profile completion). */
const profileFields = {
  first_name: text(100),
  last_name: text(100),
  display_name: text(150),
  avatar_url: z
    .url({ protocol: /^https?$/, error: "expected an http(s) URL" })
    .max(2048)
    .nullable()
    .optional(),
  phone: z
    .string()
    .trim()
    .regex(PHONE, "expected an E.164 number, e.g. +353861234567")
    .nullable()
    .optional(),
  job_title: text(150),
  company: text(255),
  departments: z.array(z.string().trim().min(1).max(255)).max(20).optional(),
};

const preferenceFields = {
  timezone: timezone.optional(),
  locale: locale.optional(),
  notification_preferences: jsonObject.optional(),
  ui_preferences: jsonObject.optional(),
};

const notEmpty = {
  message: "Nothing to update: send at least one field",
} as const;
const someField = (body: Record<string, unknown>) =>
  Object.values(body).some((v) => v !== undefined);

export const UserIdParams = z.object({
  user_id: z.uuid("expected a platform user id (UUID)").openapi({
    param: { name: "user_id", in: "path" },
    format: "uuid",
    description: "The platform user's id.",
  }),
});

export const PlatformUserSchema = z
  .object({
    id: z.uuid(),
    email: z.string().openapi({ example: "ada@example.com" }),
    username: z.string().openapi({ example: "ada.lovelace" }),
    first_name: z.string().nullable(),
    last_name: z.string().nullable(),
    display_name: z.string().nullable(),
    avatar_url: z.string().nullable(),
    phone: z.string().nullable(),
    timezone: z.string(),
    locale: z.string(),
    job_title: z.string().nullable(),
    departments: z.array(z.string()),
    company: z.string().nullable(),
    external_auth_provider: z.enum(AUTH_PROVIDERS),
    external_user_id: z.string(),
    external_id: z.string().nullable(),
    is_active: z.boolean(),
    is_superadmin: z.boolean(),
    last_login_at: z.string().nullable().openapi({ format: "date-time" }),
    is_onboarding_completed: z.boolean(),
    profile_completion_percentage: z
      .number()
      .int()
      .openapi({ description: "Share of the eight profile fields filled in (derived)." }),
    notification_preferences: jsonObject,
    ui_preferences: jsonObject,
    metadata: jsonObject,
    version: z.number().int().openapi({ description: "Also the `ETag`." }),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("PlatformUser");
export type PlatformUser = z.infer<typeof PlatformUserSchema>;

export const CreateUserSchema = z
  .strictObject({
    email,
    username,
    external_auth_provider: z.enum(AUTH_PROVIDERS).default("keycloak"),
    external_user_id: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .openapi({ description: "The user's id at the identity provider (a token's `sub`)." }),
    external_id: text(255),
    ...profileFields,
    ...preferenceFields,
    metadata: jsonObject.optional(),
  })
  .openapi("PlatformUserCreate");
export type CreateUserInput = z.infer<typeof CreateUserSchema>;

export const UpdateUserSchema = z
  .strictObject({
    ...profileFields,
    timezone: timezone.optional(),
    locale: locale.optional(),
    metadata: jsonObject.optional(),
    is_superadmin: z.boolean().optional().openapi({
      description:
        "Only a superadmin may change it (else 403); nobody may drop their own, nor the last active superadmin's (409).",
    }),
  })
  .refine(someField, notEmpty)
  .openapi("PlatformUserUpdate");
export type UpdateUserInput = z.infer<typeof UpdateUserSchema>;

export const UpdateProfileSchema = z
  .strictObject({ ...profileFields, timezone: timezone.optional(), locale: locale.optional() })
  .refine(someField, notEmpty)
  .openapi("OwnProfileUpdate");
export type UpdateProfileInput = z.infer<typeof UpdateProfileSchema>;

export const PreferencesSchema = z
  .strictObject(preferenceFields)
  .refine(someField, notEmpty)
  .openapi("UserPreferencesUpdate");
export type PreferencesInput = z.infer<typeof PreferencesSchema>;

export const StatusChangeSchema = z
  .strictObject({
    is_active: z.boolean(),
    reason,
  })
  .openapi("UserStatusChange");
export type StatusChangeInput = z.infer<typeof StatusChangeSchema>;

export const SyncFromTokenSchema = z
  .strictObject({
    create_if_not_exists: z
      .boolean()
      .default(true)
      .openapi({ description: "Create the platform user when the token's account has none." }),
  })
  .openapi("SyncFromTokenRequest");

export const SyncResultSchema = z
  .object({
    created: z.boolean(),
    user: PlatformUserSchema,
  })
  .openapi("SyncFromTokenResult");

export const DeletedUserSchema = z
  .object({
    id: z.uuid(),
    username: z.string(),
    deleted_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("DeletedPlatformUser");

// Lists and search

const roleCode = z.string().regex(/^[a-z0-9_-]{1,100}$/, "expected a role code");
const permissionCode = z.string().refine(isPermissionCode, "expected a resource:action code");

/** Filters shared by GET /users (query string) and POST /users/search (`filters`). */
export interface UserFilter {
  search?: string | undefined;
  search_fields?: readonly SearchField[] | undefined;
  email?: string | undefined;
  username?: string | undefined;
  external_auth_provider?: (typeof AUTH_PROVIDERS)[number] | undefined;
  is_active?: boolean | undefined;
  is_superadmin?: boolean | undefined;
  company?: string | undefined;
  department?: string | undefined;
  job_title?: string | undefined;
  has_role?: string[] | undefined;
  has_permission?: string[] | undefined;
  tenant_access?: string | undefined;
}

const filterText = (max: number) => z.string().trim().min(1).max(max);

export const UserListQuery = z.object({
  page: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .openapi({
      param: { name: "page", in: "query" },
      description: "Page number (page mode; default 1). Not allowed with a cursor.",
      example: 1,
    }),
  page_size: CursorQuery.shape.page_size,
  pagination_mode: z
    .enum(["page", "cursor"])
    .optional()
    .openapi({
      param: { name: "pagination_mode", in: "query" },
      description:
        "`page` (default): `page`/`page_size` with totals. `cursor`: keyset pages; send `pagination.next_cursor` back as `cursor`. A `cursor` implies cursor mode.",
    }),
  cursor: CursorQuery.shape.cursor,
  search: querySearch(
    "Part of the email, username, first, last or display name, company or job title, case-insensitive.",
  ),
  email: email.optional().openapi({
    param: { name: "email", in: "query" },
    description: "Exact email (case-insensitive).",
  }),
  username: filterText(39)
    .optional()
    .openapi({ param: { name: "username", in: "query" }, description: "Exact username." }),
  external_auth_provider: z
    .enum(AUTH_PROVIDERS)
    .optional()
    .openapi({
      param: { name: "external_auth_provider", in: "query" },
      description: "Only users signed in through this identity provider.",
    }),
  is_active: queryBoolean("is_active", "Only active (or only deactivated) users."),
  is_superadmin: queryBoolean("is_superadmin", "Only superadmins (or only the others)."),
  company: filterText(255)
    .optional()
    .openapi({
      param: { name: "company", in: "query" },
      description: "Part of the company, case-insensitive.",
    }),
  department: filterText(255)
    .optional()
    .openapi({
      param: { name: "department", in: "query" },
      description: "One of the user's departments (case-insensitive, whole name).",
    }),
  job_title: filterText(150)
    .optional()
    .openapi({
      param: { name: "job_title", in: "query" },
      description: "Part of the job title, case-insensitive.",
    }),
  has_role: queryCsv(
    "has_role",
    roleCode,
    "Comma-separated role codes: users holding any of them (active, unexpired platform grants).",
  ),
  has_permission: queryCsv(
    "has_permission",
    permissionCode,
    "Comma-separated permission codes: users whose effective permissions grant any of them (roles and direct grants minus denials, `resource:*` honoured; superadmins hold every permission).",
  ),
  tenant_access: z
    .uuid("expected a tenant id (UUID)")
    .optional()
    .openapi({
      param: { name: "tenant_access", in: "query" },
      description: "Users with an active, unexpired access grant to this tenant.",
    }),
  ...querySort(USER_SORTS, "created_at"),
});
export type UserListInput = z.infer<typeof UserListQuery>;

export const SearchRequestSchema = z
  .strictObject({
    query: z.string().trim().min(1).max(100).optional(),
    fields: z
      .array(z.enum(SEARCH_FIELDS))
      .min(1)
      .optional()
      .openapi({ description: "Where `query` may match (default: all of them)." }),
    filters: z
      .strictObject({
        email: email.optional(),
        username: filterText(39).optional(),
        external_auth_provider: z.enum(AUTH_PROVIDERS).optional(),
        is_active: z.boolean().optional(),
        is_superadmin: z.boolean().optional(),
        company: filterText(255).optional(),
        department: filterText(255).optional(),
        job_title: filterText(150).optional(),
        has_role: z.array(roleCode).min(1).max(50).optional(),
        has_permission: z.array(permissionCode).min(1).max(50).optional(),
        tenant_access: z.uuid().optional(),
      })
      .optional()
      .openapi({ description: "The filters of `GET /users`, typed." }),
    sort_by: z.enum(Object.keys(USER_SORTS) as [UserSort, ...UserSort[]]).default("created_at"),
    sort_order: z.enum(["asc", "desc"]).optional(),
    page: z.number().int().min(1).max(1_000_000).default(1),
    page_size: z.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  })
  .openapi("UserSearchRequest");
export type SearchRequest = z.infer<typeof SearchRequestSchema>;

export const UserPageSchema = z
  .object({ items: z.array(PlatformUserSchema), pagination: PaginationSchema })
  .openapi("PlatformUserPage");
export const UserCursorPageSchema = z
  .object({ items: z.array(PlatformUserSchema), pagination: CursorPaginationSchema })
  .openapi("PlatformUserCursorPage");

// Bulk

export const BULK_OPERATIONS = ["activate", "deactivate", "delete"] as const;
export type BulkOperation = (typeof BULK_OPERATIONS)[number];

export const BulkRequestSchema = z
  .strictObject({
    user_ids: z
      .array(z.uuid("expected a platform user id (UUID)"))
      .min(1)
      .max(100)
      .refine((ids) => new Set(ids).size === ids.length, "expected each user id once"),
    operation: z.enum(BULK_OPERATIONS),
    reason,
  })
  .openapi("UserBulkRequest");
export type BulkRequest = z.infer<typeof BulkRequestSchema>;

export const BulkItemSchema = z
  .object({
    user_id: z.uuid(),
    outcome: z.enum(["changed", "unchanged", "failed"]),
    error: z
      .object({ code: z.enum(["NOT_FOUND", "CONFLICT", "FORBIDDEN"]), message: z.string() })
      .nullable(),
  })
  .openapi("UserBulkItem");
export type BulkItem = z.infer<typeof BulkItemSchema>;

export const BulkResultSchema = z
  .object({
    operation: z.enum(BULK_OPERATIONS),
    requested: z.number().int(),
    changed: z.number().int(),
    unchanged: z.number().int(),
    failed: z.number().int(),
    results: z.array(BulkItemSchema).openapi({ description: "One per user id, in request order." }),
  })
  .openapi("UserBulkResult");

// Onboarding

export const ONBOARDING_STEPS = {
  platform_admin: [
    "profile_completed",
    "organization_created",
    "first_tenant_created",
    "billing_setup",
    "security_configured",
  ],
  user: [
    "profile_completed",
    "tenant_joined",
    "team_joined",
    "workspace_accessed",
    "preferences_configured",
  ],
} as const;

export const OnboardingStatusSchema = z
  .object({
    user_type: z.enum(["platform_admin", "user"]).openapi({
      description: "`platform_admin`: a superadmin or a holder of a system or platform role.",
    }),
    is_onboarding_completed: z.boolean(),
    steps: z.array(
      z.object({
        step: z.string().openapi({ example: "profile_completed" }),
        completed: z.boolean(),
        tracked: z.boolean().openapi({
          description:
            "Whether the step is computed from data; untracked steps (no data exists for them yet) are always false.",
        }),
      }),
    ),
    completed_steps: z.number().int(),
    total_steps: z.number().int(),
    completion_percentage: z.number().int(),
    profile_completion_percentage: z.number().int(),
  })
  .openapi("OnboardingStatus");
export type OnboardingStatus = z.infer<typeof OnboardingStatusSchema>;
