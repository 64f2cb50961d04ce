import { protectedRoute } from "../../core/auth/protected-route";
import { respond } from "../../core/http/envelope";
import { errorResponses, jsonBody, jsonEnvelope } from "../../core/http/openapi";
import { paginated } from "../../core/http/pagination";
import { createRouter } from "../../core/http/router";
import { serviceContext, writeContext } from "../../core/http/service-context";
import {
  expectedVersions,
  IfMatchHeader,
  respondVersioned,
  setEtag,
  versionedEnvelope,
} from "../../core/http/versioning";
import {
  CreateRegionSchema,
  RegionCodeParams,
  RegionIdParams,
  RegionListQuery,
  RegionSchema,
  TenantCountSchema,
  UpdateRegionSchema,
} from "./schemas";
import { regions } from "./service";

const tags = ["Regions"];

const versioned = (description: string) => versionedEnvelope(RegionSchema, description);

export function regionRoutes() {
  const router = createRouter();

  router.openapi(
    protectedRoute(
      { code: "regions:read" },
      {
        method: "get",
        path: "/regions",
        operationId: "listRegions",
        tags,
        summary: "List regions",
        description:
          "Filter by activity, openness to new tenants, GDPR, provider and continent; `search` matches code, name, display name or city.",
        request: { query: RegionListQuery },
        responses: {
          200: jsonEnvelope(paginated(RegionSchema), "A page of regions"),
          ...errorResponses(400),
        },
      },
    ),
    async (c) => respond(c, await regions.list(serviceContext(c), c.req.valid("query"))),
  );

  // A fixed path before `{region_id}`.
  router.openapi(
    protectedRoute(
      { code: "regions:read" },
      {
        method: "get",
        path: "/regions/code/{code}",
        operationId: "getRegionByCode",
        tags,
        summary: "Get a region by code",
        request: { params: RegionCodeParams },
        responses: {
          200: versioned("The region"),
          304: { description: "Not modified" },
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) =>
      respondVersioned(c, await regions.getByCode(serviceContext(c), c.req.valid("param").code)),
  );

  router.openapi(
    protectedRoute(
      { code: "regions:read" },
      {
        method: "get",
        path: "/regions/{region_id}",
        operationId: "getRegion",
        tags,
        summary: "Get a region",
        description: "`If-None-Match` with the current `ETag` answers 304.",
        request: { params: RegionIdParams },
        responses: {
          200: versioned("The region"),
          304: { description: "Not modified" },
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) =>
      respondVersioned(c, await regions.get(serviceContext(c), c.req.valid("param").region_id)),
  );

  router.openapi(
    protectedRoute(
      { code: "regions:create", dangerous: true },
      {
        method: "post",
        path: "/regions",
        operationId: "createRegion",
        tags,
        summary: "Create a region",
        description:
          "The code is unique (409 naming `code`); the country must be an ISO 3166-1 code.",
        request: { body: jsonBody(CreateRegionSchema) },
        responses: { 201: versioned("The new region"), ...errorResponses(400, 409) },
      },
    ),
    async (c) => {
      const region = await regions.create(writeContext(c), c.req.valid("json"));
      c.header("Location", `/api/v1/regions/${region.id}`);
      setEtag(c, region.version);
      return respond(c, region, { status: 201 });
    },
  );

  router.openapi(
    protectedRoute(
      { code: "regions:update", dangerous: true },
      {
        method: "put",
        path: "/regions/{region_id}",
        operationId: "updateRegion",
        tags,
        summary: "Update a region",
        description:
          "Changes the listed fields only. Deactivating (`is_active: false`) is refused while the region has active connections or tenants (409).",
        request: {
          params: RegionIdParams,
          headers: IfMatchHeader,
          body: jsonBody(UpdateRegionSchema),
        },
        responses: {
          200: versioned("The updated region"),
          ...errorResponses(400, 404, 409, 412, 428),
        },
      },
    ),
    async (c) => {
      const region = await regions.update(
        writeContext(c),
        c.req.valid("param").region_id,
        c.req.valid("json"),
        expectedVersions(c),
      );
      setEtag(c, region.version);
      return respond(c, region);
    },
  );

  router.openapi(
    protectedRoute(
      { code: "regions:delete", dangerous: true },
      {
        method: "delete",
        path: "/regions/{region_id}",
        operationId: "deactivateRegion",
        tags,
        summary: "Deactivate a region",
        description:
          "Regions are never removed: this sets `is_active` and `accepts_new_tenants` to false. Refused while the region has active database connections or tenants (409).",
        request: { params: RegionIdParams, headers: IfMatchHeader },
        responses: {
          200: versioned("The deactivated region"),
          ...errorResponses(400, 404, 409, 412, 428),
        },
      },
    ),
    async (c) => {
      const region = await regions.deactivate(
        writeContext(c),
        c.req.valid("param").region_id,
        expectedVersions(c),
      );
      setEtag(c, region.version);
      return respond(c, region);
    },
  );

  router.openapi(
    protectedRoute(
      { code: "regions:update" },
      {
        method: "post",
        path: "/regions/{region_id}/update-tenant-count",
        operationId: "recountRegionTenants",
        tags,
        summary: "Recount a region's tenants",
        description:
          "Sets `current_tenants` to the number of the region's tenants that are neither archived nor deleted.",
        request: { params: RegionIdParams },
        responses: {
          200: jsonEnvelope(TenantCountSchema, "The region and its count"),
          ...errorResponses(400, 404, 409),
        },
      },
    ),
    async (c) =>
      respond(c, await regions.recountTenants(writeContext(c), c.req.valid("param").region_id)),
  );

  return router;
}
