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
  AddMemberSchema,
  CreateOrganizationSchema,
  MemberListQuery,
  MemberParams,
  OrganizationIdParams,
  OrganizationListQuery,
  OrganizationMemberSchema,
  OrganizationSchema,
  OrganizationSettingsSchema,
  OrganizationSlugParams,
  UpdateMemberSchema,
  UpdateOrganizationSchema,
  UpdateOrganizationSettingsSchema,
} from "./schemas";
import { organizations } from "./service";

const tags = ["Organizations"];
const settingsTags = ["Organization Settings"];
const memberTags = ["Organization Members"];

const versioned = (description: string) => versionedEnvelope(OrganizationSchema, description);
const versionedMember = (description: string) =>
  versionedEnvelope(OrganizationMemberSchema, description);

export function organizationRoutes() {
  const router = createRouter();

  router.openapi(
    protectedRoute(
      { code: "organizations:list" },
      {
        method: "get",
        path: "/organizations",
        operationId: "listOrganizations",
        tags,
        summary: "List organizations",
        description:
          "Filter by country, industry, company size, activity and verification; `search` matches name, slug or legal name. Deleted organizations are never listed.",
        request: { query: OrganizationListQuery },
        responses: {
          200: jsonEnvelope(paginated(OrganizationSchema), "A page of organizations"),
          ...errorResponses(400),
        },
      },
    ),
    async (c) => respond(c, await organizations.list(serviceContext(c), c.req.valid("query"))),
  );

  // A fixed path before `{organization_id}`.
  router.openapi(
    protectedRoute(
      { code: "organizations:read" },
      {
        method: "get",
        path: "/organizations/slug/{slug}",
        operationId: "getOrganizationBySlug",
        tags,
        summary: "Get an organization by slug",
        request: { params: OrganizationSlugParams },
        responses: {
          200: versioned("The organization"),
          304: { description: "Not modified" },
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) =>
      respondVersioned(
        c,
        await organizations.getBySlug(serviceContext(c), c.req.valid("param").slug),
      ),
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:read" },
      {
        method: "get",
        path: "/organizations/{organization_id}",
        operationId: "getOrganization",
        tags,
        summary: "Get an organization",
        description: "`If-None-Match` with the current `ETag` answers 304.",
        request: { params: OrganizationIdParams },
        responses: {
          200: versioned("The organization"),
          304: { description: "Not modified" },
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) =>
      respondVersioned(
        c,
        await organizations.get(serviceContext(c), c.req.valid("param").organization_id),
      ),
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:create" },
      {
        method: "post",
        path: "/organizations",
        operationId: "createOrganization",
        tags,
        summary: "Create an organization",
        description:
          "The slug is unique for good, deleted organizations included (409 naming `slug`), and cannot change later. The country, currency and primary contact must exist (400 naming the field).",
        request: { body: jsonBody(CreateOrganizationSchema) },
        responses: { 201: versioned("The new organization"), ...errorResponses(400, 409) },
      },
    ),
    async (c) => {
      const organization = await organizations.create(writeContext(c), c.req.valid("json"));
      c.header("Location", `/api/v1/organizations/${organization.id}`);
      setEtag(c, organization.version);
      return respond(c, organization, { status: 201 });
    },
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:update" },
      {
        method: "put",
        path: "/organizations/{organization_id}",
        operationId: "updateOrganization",
        tags,
        summary: "Update an organization",
        description:
          "Changes the listed fields only, `is_active` included. The slug cannot change (400).",
        request: {
          params: OrganizationIdParams,
          headers: IfMatchHeader,
          body: jsonBody(UpdateOrganizationSchema),
        },
        responses: {
          200: versioned("The updated organization"),
          ...errorResponses(400, 404, 412, 428),
        },
      },
    ),
    async (c) => {
      const organization = await organizations.update(
        writeContext(c),
        c.req.valid("param").organization_id,
        c.req.valid("json"),
        expectedVersions(c),
      );
      setEtag(c, organization.version);
      return respond(c, organization);
    },
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:delete", dangerous: true },
      {
        method: "delete",
        path: "/organizations/{organization_id}",
        operationId: "deleteOrganization",
        tags,
        summary: "Delete an organization",
        description:
          "Soft delete: sets `deleted_at` and `is_active: false`; the organization disappears from every read and its slug is never reused. Refused while the organization has tenants that are neither archived nor deleted (409).",
        request: { params: OrganizationIdParams, headers: IfMatchHeader },
        responses: {
          200: versioned("The deleted organization, as it was deleted"),
          ...errorResponses(400, 404, 409, 412, 428),
        },
      },
    ),
    async (c) => {
      const organization = await organizations.delete(
        writeContext(c),
        c.req.valid("param").organization_id,
        expectedVersions(c),
      );
      setEtag(c, organization.version);
      return respond(c, organization);
    },
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:read" },
      {
        method: "get",
        path: "/organizations/{organization_id}/settings",
        operationId: "getOrganizationSettings",
        tags: settingsTags,
        summary: "Get an organization's settings",
        request: { params: OrganizationIdParams },
        responses: {
          200: jsonEnvelope(OrganizationSettingsSchema, "Every setting, by key"),
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) =>
      respond(
        c,
        await organizations.settings(serviceContext(c), c.req.valid("param").organization_id),
      ),
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:update" },
      {
        method: "put",
        path: "/organizations/{organization_id}/settings",
        operationId: "updateOrganizationSettings",
        tags: settingsTags,
        summary: "Set or remove organization settings",
        description:
          "Sets each key sent with `{ value, is_public? }` and removes each key sent as `null`; other keys stay as they are. Settings are not for secrets: keys named like one (`*password*`, `*token*`, …) are refused (400).",
        request: { params: OrganizationIdParams, body: jsonBody(UpdateOrganizationSettingsSchema) },
        responses: {
          200: jsonEnvelope(OrganizationSettingsSchema, "Every setting after the change"),
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) =>
      respond(
        c,
        await organizations.updateSettings(
          writeContext(c),
          c.req.valid("param").organization_id,
          c.req.valid("json"),
        ),
      ),
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:read" },
      {
        method: "get",
        path: "/organizations/{organization_id}/members",
        operationId: "listOrganizationMembers",
        tags: memberTags,
        summary: "List an organization's members",
        description: "Filter by role; `search` matches username, email or display name.",
        request: { params: OrganizationIdParams, query: MemberListQuery },
        responses: {
          200: jsonEnvelope(paginated(OrganizationMemberSchema), "A page of members"),
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) =>
      respond(
        c,
        await organizations.members(
          serviceContext(c),
          c.req.valid("param").organization_id,
          c.req.valid("query"),
        ),
      ),
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:read" },
      {
        method: "get",
        path: "/organizations/{organization_id}/members/{user_id}",
        operationId: "getOrganizationMember",
        tags: memberTags,
        summary: "Get one member of an organization",
        description: "`If-None-Match` with the current `ETag` answers 304.",
        request: { params: MemberParams },
        responses: {
          200: versionedMember("The member"),
          304: { description: "Not modified" },
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) => {
      const { organization_id, user_id } = c.req.valid("param");
      const member = await organizations.member(serviceContext(c), organization_id, user_id);
      return respondVersioned(c, member);
    },
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:update" },
      {
        method: "post",
        path: "/organizations/{organization_id}/members",
        operationId: "addOrganizationMember",
        tags: memberTags,
        summary: "Add a member to an organization",
        description:
          "The user must be a platform user (400 naming `user_id`) and not yet a member (409).",
        request: { params: OrganizationIdParams, body: jsonBody(AddMemberSchema) },
        responses: { 201: versionedMember("The new member"), ...errorResponses(400, 404, 409) },
      },
    ),
    async (c) => {
      const id = c.req.valid("param").organization_id;
      const member = await organizations.addMember(writeContext(c), id, c.req.valid("json"));
      c.header("Location", `/api/v1/organizations/${id}/members/${member.user_id}`);
      setEtag(c, member.version);
      return respond(c, member, { status: 201 });
    },
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:update" },
      {
        method: "put",
        path: "/organizations/{organization_id}/members/{user_id}",
        operationId: "updateOrganizationMember",
        tags: memberTags,
        summary: "Change a member's role",
        description: "The last owner cannot step down (409): make another member owner first.",
        request: {
          params: MemberParams,
          headers: IfMatchHeader,
          body: jsonBody(UpdateMemberSchema),
        },
        responses: {
          200: versionedMember("The member"),
          ...errorResponses(400, 404, 409, 412, 428),
        },
      },
    ),
    async (c) => {
      const { organization_id, user_id } = c.req.valid("param");
      const member = await organizations.updateMember(
        writeContext(c),
        organization_id,
        user_id,
        c.req.valid("json"),
        expectedVersions(c),
      );
      setEtag(c, member.version);
      return respond(c, member);
    },
  );

  router.openapi(
    protectedRoute(
      { code: "organizations:update" },
      {
        method: "delete",
        path: "/organizations/{organization_id}/members/{user_id}",
        operationId: "removeOrganizationMember",
        tags: memberTags,
        summary: "Remove a member from an organization",
        description: "The last owner cannot leave (409).",
        request: { params: MemberParams, headers: IfMatchHeader },
        responses: {
          200: jsonEnvelope(OrganizationMemberSchema, "The removed member"),
          ...errorResponses(400, 404, 409, 412, 428),
        },
      },
    ),
    async (c) => {
      const { organization_id, user_id } = c.req.valid("param");
      const member = await organizations.removeMember(
        writeContext(c),
        organization_id,
        user_id,
        expectedVersions(c),
      );
      return respond(c, member);
    },
  );

  return router;
}
