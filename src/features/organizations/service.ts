import type { ISql } from "postgres";
import { recordAudit } from "../../core/audit/audit-log";
import { cachedValue, forgetValue } from "../../core/cache/cached-value";
import { keys } from "../../core/cache/keys";
import { foreignKeyViolation, uniqueViolation } from "../../core/db/sql-fragments";
import { ApiError } from "../../core/http/errors";
import { listWindow, pageOfItems } from "../../core/http/pagination";
import type { ServiceContext, WriteContext } from "../../core/http/service-context";
import { assertVersion, type ExpectedVersions } from "../../core/http/versioning";
import {
  type OrganizationRow,
  organizationsRepository,
  presentMember,
  presentOrganization,
  presentSetting,
} from "./repository";
import {
  type AddMemberInput,
  type CreateOrganizationInput,
  MEMBER_SORTS,
  type MemberListInput,
  type MemberRole,
  ORGANIZATION_SORTS,
  type Organization,
  type OrganizationListInput,
  type OrganizationMember,
  type UpdateMemberInput,
  type UpdateOrganizationInput,
  type UpdateOrganizationSettingsInput,
} from "./schemas";

const CACHE_TTL_SECONDS = 60;
const cacheKey = (id: string) => keys.platform("organizations", id);

/** Every audit entry of this feature is filed under the organization it concerns. */
function audit(
  tx: ISql,
  ctx: WriteContext,
  id: string,
  verb: string,
  images: { before?: unknown; after?: unknown },
): Promise<void> {
  return recordAudit(tx, ctx.audit, {
    action: `organizations.${verb}`,
    resourceType: "organization",
    resourceId: id,
    organizationId: id,
    ...images,
  });
}

const notFound = (id: string) =>
  ApiError.notFound(`Organization ${id} not found`, "organization_id", "path");

/** Database refusals that are the caller's mistake, as field-level 4xx answers. */
function translateWriteError(error: unknown, input: Partial<CreateOrganizationInput>): never {
  if (uniqueViolation(error) === "organizations_slug_key") {
    throw ApiError.conflict(
      `An organization with slug ${input.slug} already exists (slugs are never reused)`,
      "slug",
      "body",
    );
  }
  const foreignKey = foreignKeyViolation(error);
  if (foreignKey === "organizations_country_code_fkey") {
    throw ApiError.badRequest(`Unknown country ${input.country_code}`, "country_code", "body");
  }
  if (foreignKey === "organizations_default_currency_fkey") {
    throw ApiError.badRequest(
      `Unknown currency ${input.default_currency}`,
      "default_currency",
      "body",
    );
  }
  if (foreignKey === "organizations_primary_contact_id_fkey")
    throw unknownUser("primary_contact_id");
  if (foreignKey === "organization_members_user_id_fkey") throw unknownUser("user_id");
  throw error;
}

function unknownUser(field: string): ApiError {
  return ApiError.badRequest("No such platform user", field, "body");
}

async function assertUser(tx: ISql, userId: string | null | undefined, field: string) {
  if (userId && !(await organizationsRepository(tx).userExists(userId))) throw unknownUser(field);
}

/** Locks a live organization for a write; with `expected`, checks the caller's If-Match too. */
async function lockForWrite(
  tx: ISql,
  id: string,
  expected?: ExpectedVersions,
): Promise<OrganizationRow> {
  const row = await organizationsRepository(tx).byId(id, { lock: true });
  if (!row) throw notFound(id);
  if (expected) assertVersion(expected, row.version);
  return row;
}

/** Runs a write in a transaction, turning constraint violations into 4xx answers. */
async function write<T>(
  ctx: WriteContext,
  input: Partial<CreateOrganizationInput>,
  work: (tx: ISql) => Promise<T>,
): Promise<T> {
  try {
    // Our verbs return plain objects, never arrays of promises: nothing for `begin` to unwrap.
    return (await ctx.db.begin(work)) as T;
  } catch (error) {
    translateWriteError(error, input);
  }
}

/**
 * A write to the organization itself: locked and checked against If-Match, changed, audited with
 * its before and after images, and dropped from the cache once committed.
 */
async function changeOrganization(
  ctx: WriteContext,
  id: string,
  expected: ExpectedVersions,
  verb: "update" | "delete",
  input: Partial<CreateOrganizationInput>,
  change: (tx: ISql) => Promise<OrganizationRow>,
): Promise<Organization> {
  const organization = await write(ctx, input, async (tx) => {
    const before = presentOrganization(await lockForWrite(tx, id, expected));
    const after = presentOrganization(await change(tx));
    await audit(tx, ctx, id, verb, { before, after });
    return after;
  });
  await forgetValue(ctx, cacheKey(id));
  return organization;
}

function memberNotFound(userId: string): ApiError {
  return ApiError.notFound(
    `User ${userId} is not a member of this organization`,
    "user_id",
    "path",
  );
}

async function memberOrThrow(tx: ISql, id: string, userId: string): Promise<OrganizationMember> {
  const row = await organizationsRepository(tx).member(id, userId);
  if (!row) throw memberNotFound(userId);
  return presentMember(row);
}

/**
 * A member about to change, checked against If-Match. The organization's row lock orders every
 * write to its members, so the version read here is still current when the write commits.
 */
async function lockMember(
  tx: ISql,
  id: string,
  userId: string,
  expected: ExpectedVersions,
): Promise<OrganizationMember> {
  await lockForWrite(tx, id);
  const member = await memberOrThrow(tx, id, userId);
  assertVersion(expected, member.version);
  return member;
}

/** An organization that has an owner keeps one: the last owner cannot leave or step down. */
async function assertNotLastOwner(
  tx: ISql,
  id: string,
  member: OrganizationMember,
  next?: MemberRole,
) {
  if (member.member_role !== "owner" || next === "owner") return;
  if ((await organizationsRepository(tx).countOwners(id)) <= 1) {
    throw ApiError.conflict(
      "This is the organization's last owner: make another member owner first",
      "user_id",
      "path",
    );
  }
}

export const organizations = {
  async list(ctx: ServiceContext, query: OrganizationListInput) {
    const { rows, total } = await organizationsRepository(ctx.db).list({
      ...query,
      ...listWindow(query, ORGANIZATION_SORTS),
    });
    return pageOfItems(query, rows.map(presentOrganization), total);
  },

  async get(ctx: ServiceContext, id: string): Promise<Organization> {
    const organization = await cachedValue(ctx, cacheKey(id), CACHE_TTL_SECONDS, async () => {
      const row = await organizationsRepository(ctx.db).byId(id);
      return row && presentOrganization(row);
    });
    if (!organization) throw notFound(id);
    return organization;
  },

  async getBySlug(ctx: ServiceContext, slug: string): Promise<Organization> {
    const row = await organizationsRepository(ctx.db).bySlug(slug);
    if (!row) throw ApiError.notFound(`Organization ${slug} not found`, "slug", "path");
    return presentOrganization(row);
  },

  async create(ctx: WriteContext, input: CreateOrganizationInput): Promise<Organization> {
    return write(ctx, input, async (tx) => {
      await assertUser(tx, input.primary_contact_id, "primary_contact_id");
      const organization = presentOrganization(await organizationsRepository(tx).insert(input));
      await audit(tx, ctx, organization.id, "create", {
        after: organization,
      });
      return organization;
    });
  },

  /** Changes the fields sent. Deactivating is allowed with live tenants (they keep running). */
  async update(
    ctx: WriteContext,
    id: string,
    input: UpdateOrganizationInput,
    expected: ExpectedVersions,
  ): Promise<Organization> {
    return changeOrganization(ctx, id, expected, "update", input, async (tx) => {
      await assertUser(tx, input.primary_contact_id, "primary_contact_id");
      return organizationsRepository(tx).update(id, input);
    });
  },

  /** Soft delete (deleted_at, is_active = false), refused while a tenant is still live. */
  async delete(ctx: WriteContext, id: string, expected: ExpectedVersions): Promise<Organization> {
    return changeOrganization(ctx, id, expected, "delete", {}, async (tx) => {
      const repo = organizationsRepository(tx);
      const tenants = await repo.countActiveTenants(id);
      if (tenants > 0) {
        throw ApiError.conflict(
          `The organization cannot be deleted while it has ${tenants} active tenant(s): archive or delete them first`,
          "organization_id",
          "path",
        );
      }
      return repo.update(id, { is_active: false, deleted_at: new Date() });
    });
  },

  async settings(ctx: ServiceContext, id: string) {
    await organizations.get(ctx, id);
    const rows = await organizationsRepository(ctx.db).settings(id);
    return { organization_id: id, settings: rows.map(presentSetting) };
  },

  /** Sets or removes the keys sent; the audit entry holds those keys' before and after. */
  async updateSettings(ctx: WriteContext, id: string, input: UpdateOrganizationSettingsInput) {
    return ctx.db.begin(async (tx) => {
      const repo = organizationsRepository(tx);
      // The organization's row lock orders concurrent writers of its settings.
      await lockForWrite(tx, id);
      const changed = Object.keys(input.settings);
      const image = async () =>
        Object.fromEntries((await repo.settings(id, changed)).map((s) => [s.key, s.value]));
      const before = await image();
      const removed: string[] = [];
      for (const [key, setting] of Object.entries(input.settings)) {
        if (setting === null) removed.push(key);
        else await repo.upsertSetting(id, key, setting, ctx.audit.actor.id);
      }
      await repo.deleteSettings(id, removed);
      await audit(tx, ctx, id, "settings_update", {
        before,
        after: await image(),
      });
      return { organization_id: id, settings: (await repo.settings(id)).map(presentSetting) };
    });
  },

  async members(ctx: ServiceContext, id: string, query: MemberListInput) {
    await organizations.get(ctx, id);
    const { rows, total } = await organizationsRepository(ctx.db).listMembers(id, {
      ...query,
      ...listWindow(query, MEMBER_SORTS),
    });
    return pageOfItems(query, rows.map(presentMember), total);
  },

  async member(ctx: ServiceContext, id: string, userId: string): Promise<OrganizationMember> {
    await organizations.get(ctx, id);
    return memberOrThrow(ctx.db, id, userId);
  },

  async addMember(ctx: WriteContext, id: string, input: AddMemberInput) {
    return write(ctx, {}, async (tx) => {
      const repo = organizationsRepository(tx);
      await lockForWrite(tx, id);
      await assertUser(tx, input.user_id, "user_id");
      if (await repo.member(id, input.user_id)) {
        throw ApiError.conflict(
          "The user is already a member of this organization",
          "user_id",
          "body",
        );
      }
      await repo.insertMember(id, input, ctx.audit.actor.id);
      const member = await memberOrThrow(tx, id, input.user_id);
      await audit(tx, ctx, id, "member_add", {
        after: { user_id: member.user_id, member_role: member.member_role },
      });
      return member;
    });
  },

  async updateMember(
    ctx: WriteContext,
    id: string,
    userId: string,
    input: UpdateMemberInput,
    expected: ExpectedVersions,
  ) {
    return ctx.db.begin(async (tx) => {
      const before = await lockMember(tx, id, userId, expected);
      if (before.member_role === input.member_role) return before;
      await assertNotLastOwner(tx, id, before, input.member_role);
      await organizationsRepository(tx).setMemberRole(id, userId, input.member_role);
      const after = await memberOrThrow(tx, id, userId);
      await audit(tx, ctx, id, "member_update", {
        before: { user_id: userId, member_role: before.member_role },
        after: { user_id: userId, member_role: after.member_role },
      });
      return after;
    });
  },

  async removeMember(ctx: WriteContext, id: string, userId: string, expected: ExpectedVersions) {
    return ctx.db.begin(async (tx) => {
      const member = await lockMember(tx, id, userId, expected);
      await assertNotLastOwner(tx, id, member);
      await organizationsRepository(tx).deleteMember(id, userId);
      await audit(tx, ctx, id, "member_remove", {
        before: { user_id: userId, member_role: member.member_role },
      });
      return member;
    });
  },
};
