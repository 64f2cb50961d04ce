import { z } from "@hono/zod-openapi";
import { PaginationQuery } from "../../core/http/pagination";
import { queryBoolean, querySearch, querySort } from "../../core/http/query";

export const REGION_CODE = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;
const MAX_INT4 = 2_147_483_647;
export const CONTINENTS = [
  "Africa",
  "Antarctica",
  "Asia",
  "Europe",
  "North America",
  "Oceania",
  "South America",
] as const;

/** Sort fields and their natural direction. */
export const REGION_SORTS = {
  priority: "desc",
  code: "asc",
  name: "asc",
  current_tenants: "desc",
  created_at: "desc",
} as const;
export type RegionSort = keyof typeof REGION_SORTS;

const regionCode = z
  .string()
  .min(2)
  .max(20)
  .regex(REGION_CODE, "expected lowercase letters, digits and '-' (e.g. eu-west-1)");
const countryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, "expected an ISO 3166-1 alpha-2 code in capitals (e.g. IE)");
const certifications = z.array(z.string().trim().min(1).max(50)).max(50);
const cents = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable();

export const RegionIdParams = z.object({
  region_id: z.uuid("expected a region id (UUID)").openapi({
    param: { name: "region_id", in: "path" },
    format: "uuid",
    description: "The region's id.",
  }),
});

export const RegionCodeParams = z.object({
  code: regionCode.openapi({
    param: { name: "code", in: "path" },
    example: "eu-west-1",
    description: "The region's code.",
  }),
});

export const RegionListQuery = PaginationQuery.extend({
  is_active: queryBoolean("is_active", "Only active (or only deactivated) regions."),
  accepts_new_tenants: queryBoolean("accepts_new_tenants", "Only regions open to new tenants."),
  gdpr_region: queryBoolean("gdpr_region", "Only GDPR regions (or only the others)."),
  provider: z
    .string()
    .trim()
    .min(1)
    .max(50)
    .optional()
    .openapi({ param: { name: "provider", in: "query" }, description: "Exact provider name." }),
  continent: z
    .enum(CONTINENTS)
    .optional()
    .openapi({ param: { name: "continent", in: "query" }, description: "Only regions on it." }),
  search: querySearch("Part of the code, name, display name or city, case-insensitive."),
  ...querySort(REGION_SORTS, "priority"),
});
export type RegionListInput = z.infer<typeof RegionListQuery>;

export const RegionSchema = z
  .object({
    id: z.uuid(),
    code: z.string().openapi({ example: "eu-west-1" }),
    name: z.string().openapi({ example: "EU West (Dublin)" }),
    display_name: z.string().openapi({ example: "Europe — Ireland" }),
    country_code: z.string().openapi({ example: "IE" }),
    continent: z.string().openapi({ example: "Europe" }),
    city: z.string().nullable(),
    timezone: z.string().openapi({ example: "Europe/Dublin" }),
    coordinates: z.string().nullable(),
    data_residency_compliant: z.boolean(),
    gdpr_region: z.boolean(),
    compliance_certifications: z.array(z.string()),
    legal_entity: z.string().nullable(),
    is_active: z.boolean(),
    accepts_new_tenants: z.boolean(),
    capacity_percentage: z.number().int(),
    max_tenants: z.number().int(),
    current_tenants: z.number().int(),
    priority: z.number().int(),
    provider: z.string().nullable(),
    provider_region: z.string().nullable(),
    availability_zones: z.array(z.string()),
    primary_endpoint: z.string(),
    backup_endpoints: z.array(z.string()),
    internal_network: z.string().nullable(),
    cost_per_gb_monthly_cents: z.number().int().nullable(),
    cost_per_tenant_monthly_cents: z.number().int().nullable(),
    version: z.number().int().openapi({ description: "Also the `ETag`." }),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Region");
export type Region = z.infer<typeof RegionSchema>;

export const CreateRegionSchema = z
  .strictObject({
    code: regionCode.openapi({ example: "ap-southeast-2" }),
    name: z.string().trim().min(1).max(100).openapi({ example: "AP Southeast (Sydney)" }),
    display_name: z.string().trim().min(1).max(100).openapi({ example: "Asia Pacific — Sydney" }),
    country_code: countryCode.openapi({ example: "AU" }),
    continent: z.enum(CONTINENTS),
    city: z.string().trim().min(1).max(100).nullable().optional(),
    timezone: z.string().trim().min(1).max(50).openapi({ example: "Australia/Sydney" }),
    coordinates: z.string().trim().max(50).nullable().optional(),
    data_residency_compliant: z.boolean().optional(),
    gdpr_region: z.boolean().optional(),
    compliance_certifications: certifications.optional(),
    legal_entity: z.string().trim().max(255).nullable().optional(),
    provider: z.string().trim().min(1).max(50).default("Docker"),
    provider_region: z.string().trim().max(50).nullable().optional(),
    availability_zones: z.array(z.string().trim().min(1).max(50)).max(20).optional(),
    primary_endpoint: z.string().trim().min(1).max(255).openapi({ example: "db.syd.example.com" }),
    backup_endpoints: z.array(z.string().trim().min(1).max(255)).max(20).optional(),
    max_tenants: z.number().int().min(0).max(MAX_INT4).optional(),
    accepts_new_tenants: z.boolean().optional(),
    priority: z.number().int().min(0).max(MAX_INT4).optional(),
    cost_per_gb_monthly_cents: cents.optional(),
    cost_per_tenant_monthly_cents: cents.optional(),
  })
  .openapi("CreateRegionRequest");
export type CreateRegionInput = z.infer<typeof CreateRegionSchema>;

export const UpdateRegionSchema = z
  .strictObject({
    display_name: z.string().trim().min(1).max(100).optional(),
    is_active: z.boolean().optional(),
    accepts_new_tenants: z.boolean().optional(),
    max_tenants: z.number().int().min(0).max(MAX_INT4).optional(),
    priority: z.number().int().min(0).max(MAX_INT4).optional(),
    compliance_certifications: certifications.optional(),
    cost_per_gb_monthly_cents: cents.optional(),
    cost_per_tenant_monthly_cents: cents.optional(),
  })
  .refine((body) => Object.values(body).some((v) => v !== undefined), {
    message: "Nothing to update: send at least one field",
  })
  .openapi("UpdateRegionRequest");
export type UpdateRegionInput = z.infer<typeof UpdateRegionSchema>;

export const TenantCountSchema = z
  .object({
    region: RegionSchema,
    previous_count: z.number().int(),
    current_tenants: z.number().int(),
  })
  .openapi("RegionTenantCount");
