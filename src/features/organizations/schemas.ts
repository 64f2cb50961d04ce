import { z } from "@hono/zod-openapi";
import { looksSecret } from "../../core/audit/audit-log";
import { PaginationQuery } from "../../core/http/pagination";
import { queryBoolean, querySearch, querySort } from "../../core/http/query";

/** Same rule as the table's CHECK (and tenant slugs): lowercase words joined by '-'. */
export const ORGANIZATION_SLUG = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;

/** Sort fields and their natural direction. */
export const ORGANIZATION_SORTS = {
  created_at: "desc",
  updated_at: "desc",
  name: "asc",
  slug: "asc",
} as const;
export type OrganizationSort = keyof typeof ORGANIZATION_SORTS;

export const MEMBER_ROLES = ["owner", "admin", "billing", "member"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export const MEMBER_SORTS = { created_at: "desc", username: "asc" } as const;
export type MemberSort = keyof typeof MEMBER_SORTS;

export const MAX_SETTINGS_PER_WRITE = 50;
const MAX_SETTING_VALUE_BYTES = 16_384;

const slug = z
  .string()
  .min(2)
  .max(100)
  .regex(ORGANIZATION_SLUG, "expected lowercase letters, digits and '-' (e.g. acme-corp)");
const countryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, "expected an ISO 3166-1 alpha-2 code in capitals (e.g. IE)");
const currencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, "expected an ISO 4217 code in capitals (e.g. EUR)");
const timezone = z
  .string()
  .min(1)
  .max(50)
  .refine(isTimeZone, "expected an IANA time zone (e.g. Europe/Dublin)");
const locale = z
  .string()
  .max(10)
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "expected a BCP 47 language tag (e.g. en-US)");
const webUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).max(2048);
const text = (max: number) => z.string().trim().min(1).max(max);
const brandColors = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_]{0,49}$/, "expected a lowercase name (e.g. primary)"),
    z.string().regex(/^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/, "expected a hex colour (#rrggbb)"),
  )
  .refine((colors) => Object.keys(colors).length <= 20, "at most 20 colours")
  .openapi({ example: { primary: "#1a73e8", accent: "#fbbc04" } });
const documents = z.array(text(2048)).max(20);

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const OrganizationIdParams = z.object({
  organization_id: z.uuid("expected an organization id (UUID)").openapi({
    param: { name: "organization_id", in: "path" },
    format: "uuid",
    description: "The organization's id.",
  }),
});

export const OrganizationSlugParams = z.object({
  slug: slug.openapi({
    param: { name: "slug", in: "path" },
    example: "acme-corp",
    description: "The organization's slug (never reused, not even after a delete).",
  }),
});

export const MemberParams = OrganizationIdParams.extend({
  user_id: z.uuid("expected a platform user id (UUID)").openapi({
    param: { name: "user_id", in: "path" },
    format: "uuid",
    description: "The member's platform user id.",
  }),
});

export const OrganizationListQuery = PaginationQuery.extend({
  search: querySearch("Part of the name, slug or legal name, case-insensitive."),
  country_code: countryCode.optional().openapi({
    param: { name: "country_code", in: "query" },
    example: "IE",
    description: "Only organizations registered in this country (ISO 3166-1 alpha-2).",
  }),
  industry: text(100)
    .optional()
    .openapi({ param: { name: "industry", in: "query" }, description: "Exact industry." }),
  company_size: text(20)
    .optional()
    .openapi({
      param: { name: "company_size", in: "query" },
      description: "Exact company size (e.g. `51-200`).",
    }),
  is_active: queryBoolean("is_active", "Only active (or only deactivated) organizations."),
  is_verified: queryBoolean("is_verified", "Only verified (or only unverified) organizations."),
  ...querySort(ORGANIZATION_SORTS, "created_at"),
});
export type OrganizationListInput = z.infer<typeof OrganizationListQuery>;

export const OrganizationSchema = z
  .object({
    id: z.uuid(),
    name: z.string().openapi({ example: "Acme Corporation" }),
    slug: z.string().openapi({ example: "acme-corp" }),
    legal_name: z.string().nullable(),
    tax_id: z.string().nullable(),
    business_type: z.string().nullable(),
    industry: z.string().nullable(),
    company_size: z.string().nullable(),
    website_url: z.string().nullable(),
    primary_contact_id: z.uuid().nullable(),
    address_line1: z.string().nullable(),
    address_line2: z.string().nullable(),
    city: z.string().nullable(),
    state_province: z.string().nullable(),
    postal_code: z.string().nullable(),
    country_code: z.string().nullable().openapi({ example: "IE" }),
    default_timezone: z.string().openapi({ example: "Europe/Dublin" }),
    default_locale: z.string().openapi({ example: "en-IE" }),
    default_currency: z.string().openapi({ example: "EUR" }),
    logo_url: z.string().nullable(),
    brand_colors: z.record(z.string(), z.string()),
    is_active: z.boolean(),
    verified_at: z.string().nullable().openapi({ format: "date-time" }),
    verification_documents: z.array(z.string()),
    version: z.number().int().openapi({ description: "Also the `ETag`." }),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
    deleted_at: z
      .string()
      .nullable()
      .openapi({ format: "date-time", description: "Set only in the answer to DELETE." }),
  })
  .openapi("Organization");
export type Organization = z.infer<typeof OrganizationSchema>;

/** The fields a caller may set at creation and change later (the slug only at creation). */
const editable = {
  name: text(255).openapi({ example: "Acme Corporation" }),
  legal_name: text(255).nullable().optional(),
  tax_id: text(50).nullable().optional(),
  business_type: text(50).nullable().optional(),
  industry: text(100).nullable().optional(),
  company_size: text(20).nullable().optional().openapi({ example: "51-200" }),
  website_url: webUrl.nullable().optional(),
  primary_contact_id: z.uuid("expected a platform user id (UUID)").nullable().optional(),
  address_line1: text(255).nullable().optional(),
  address_line2: text(255).nullable().optional(),
  city: text(100).nullable().optional(),
  state_province: text(100).nullable().optional(),
  postal_code: text(20).nullable().optional(),
  country_code: countryCode.nullable().optional().openapi({ example: "IE" }),
  default_timezone: timezone.optional().openapi({ example: "Europe/Dublin" }),
  default_locale: locale.optional().openapi({ example: "en-IE" }),
  default_currency: currencyCode.optional().openapi({ example: "EUR" }),
  logo_url: webUrl.nullable().optional(),
  brand_colors: brandColors.optional(),
  verification_documents: documents.optional(),
};

export const CreateOrganizationSchema = z
  .strictObject({ ...editable, slug: slug.openapi({ example: "acme-corp" }) })
  .openapi("CreateOrganizationRequest");
export type CreateOrganizationInput = z.infer<typeof CreateOrganizationSchema>;

export const UpdateOrganizationSchema = z
  .strictObject({ ...editable, name: editable.name.optional(), is_active: z.boolean().optional() })
  .refine((body) => Object.values(body).some((v) => v !== undefined), {
    message: "Nothing to update: send at least one field",
  })
  .openapi("UpdateOrganizationRequest");
export type UpdateOrganizationInput = z.infer<typeof UpdateOrganizationSchema>;

// Settings ---------------------------------------------------------------------------------

const settingKey = z
  .string()
  .max(100)
  .regex(/^[a-z][a-z0-9_.-]*$/, "expected a lowercase key (e.g. billing.invoice_prefix)")
  .refine((key) => !looksSecret(key), "organization settings are not for secrets");

const settingValue = z
  .unknown()
  .refine((value) => value !== undefined && value !== null, "expected a JSON value (not null)")
  .refine(
    (value) => new TextEncoder().encode(JSON.stringify(value)).length <= MAX_SETTING_VALUE_BYTES,
    `at most ${MAX_SETTING_VALUE_BYTES} bytes of JSON`,
  )
  .openapi({ description: "Any JSON value but null.", example: "INV-" });

export const OrganizationSettingSchema = z
  .object({
    key: z.string().openapi({ example: "billing.invoice_prefix" }),
    value: z.unknown().openapi({ example: "INV-" }),
    is_public: z.boolean(),
    updated_by: z.uuid().nullable(),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("OrganizationSetting");
export type OrganizationSetting = z.infer<typeof OrganizationSettingSchema>;

export const OrganizationSettingsSchema = z
  .object({ organization_id: z.uuid(), settings: z.array(OrganizationSettingSchema) })
  .openapi("OrganizationSettings");

export const UpdateOrganizationSettingsSchema = z
  .strictObject({
    settings: z
      .record(
        settingKey,
        z.strictObject({ value: settingValue, is_public: z.boolean().optional() }).nullable(),
      )
      .refine((s) => Object.keys(s).length > 0, "Nothing to update: send at least one key")
      .refine(
        (s) => Object.keys(s).length <= MAX_SETTINGS_PER_WRITE,
        `at most ${MAX_SETTINGS_PER_WRITE} keys per request`,
      )
      .openapi({
        description:
          "The keys to set (`{ value, is_public? }`) or remove (`null`); keys not listed are left as they are.",
        example: {
          "billing.invoice_prefix": { value: "ACME-", is_public: false },
          "support.tier": null,
        },
      }),
  })
  .openapi("UpdateOrganizationSettingsRequest");
export type UpdateOrganizationSettingsInput = z.infer<typeof UpdateOrganizationSettingsSchema>;

// Members ----------------------------------------------------------------------------------

const memberRole = z.enum(MEMBER_ROLES).openapi({
  description:
    "What the user is to the organization. It grants nothing in this API: permissions come from platform roles.",
});

export const MemberListQuery = PaginationQuery.extend({
  member_role: z
    .enum(MEMBER_ROLES)
    .optional()
    .openapi({
      param: { name: "member_role", in: "query" },
      description: "Only members with this role in the organization.",
    }),
  search: querySearch("Part of the member's username, email or display name, case-insensitive."),
  ...querySort(MEMBER_SORTS, "created_at"),
});
export type MemberListInput = z.infer<typeof MemberListQuery>;

export const OrganizationMemberSchema = z
  .object({
    organization_id: z.uuid(),
    user_id: z.uuid(),
    username: z.string(),
    email: z.string(),
    display_name: z.string().nullable(),
    user_is_active: z.boolean(),
    member_role: z.enum(MEMBER_ROLES),
    added_by: z.uuid().nullable(),
    version: z.number().int().openapi({ description: "Also the `ETag`." }),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("OrganizationMember");
export type OrganizationMember = z.infer<typeof OrganizationMemberSchema>;

export const AddMemberSchema = z
  .strictObject({
    user_id: z.uuid("expected a platform user id (UUID)"),
    member_role: memberRole.default("member"),
  })
  .openapi("AddOrganizationMemberRequest");
export type AddMemberInput = z.infer<typeof AddMemberSchema>;

export const UpdateMemberSchema = z
  .strictObject({ member_role: memberRole })
  .openapi("UpdateOrganizationMemberRequest");
export type UpdateMemberInput = z.infer<typeof UpdateMemberSchema>;
