import type { ISql, Sql } from "postgres";
import { type AuditContext, recordAudit } from "../../core/audit/audit-log";
import type { PermissionChecker } from "../../core/auth/permission-checker";
import type { PlatformPrincipal } from "../../core/auth/principal";
import { CacheUnavailableError } from "../../core/cache/errors";
import { ApiError } from "../../core/http/errors";
import type { Logger } from "../../core/log/logger";
import {
  type Grant,
  type PermissionRef,
  pairKey,
  type RoleFilter,
  type RoleRow,
  rolesRepository,
} from "./repository";
import type {
  AssignRoleInput,
  BulkAssignInput,
  CreateRoleInput,
  SetRolePermissionsInput,
  UpdateRoleInput,
} from "./schemas";

export interface RolesContext {
  db: Sql;
  /** The caller: recorded as `granted_by`. */
  actor: PlatformPrincipal;
  /** Absent only when no identity provider is configured (then no protected route runs). */
  permissions: PermissionChecker | undefined;
  log: Logger;
  /** Who and why, for the audit entry every change writes (read only by writes). */
  readonly audit: AuditContext;
}

/** Every change to roles and grants is audited in its own transaction (ADR 0017). */
function audit(
  tx: ISql,
  ctx: RolesContext,
  action: string,
  roleId: number,
  images: { before?: unknown; after?: unknown },
) {
  return recordAudit(tx, ctx.audit, {
    action: `roles.${action}`,
    resourceType: "role",
    resourceId: String(roleId),
    ...images,
  });
}

const conflict = (message: string, field: string, location = "body") =>
  ApiError.conflict(message, field, location);

function forbidden(message: string): ApiError {
  return new ApiError("FORBIDDEN", message);
}

function notFound(message: string, field: string, location: string): ApiError {
  return new ApiError("NOT_FOUND", message, {
    details: [{ code: "NOT_FOUND", message, field, location }],
  });
}

function roleNotFound(id: number): ApiError {
  return notFound(`Role ${id} not found`, "role_id", "path");
}

/** Seeded roles are re-applied from db/seed on every seed change: API edits would be lost. */
function assertMutable(role: RoleRow): void {
  if (role.is_system) {
    throw forbidden(
      `Role ${role.code} is a system role: it is defined by the seed and cannot be changed through the API`,
    );
  }
}

/** Platform grants hold platform-level roles only (a database trigger enforces the same). */
function assertPlatformAssignable(role: RoleRow, field: string, location: string): void {
  if (role.role_level === "tenant") {
    throw ApiError.badRequest(
      `Role ${role.code} is a tenant role: tenant roles are granted per tenant, which the tenants feature will provide`,
      field,
      location,
    );
  }
}

/**
 * System roles (super_admin, system_architect) reach past every permission check: only a
 * superadmin may hand them out, so `roles:assign` alone cannot escalate itself to superadmin.
 */
function assertMayGrant(actor: PlatformPrincipal, role: RoleRow): void {
  if (role.role_level === "system" && !actor.is_superadmin) {
    throw forbidden(`Only a superadmin may assign the system role ${role.code}`);
  }
}

function refuseTenantId(tenantId: string | null | undefined): void {
  if (tenantId) {
    throw ApiError.badRequest(
      "Tenant-scoped assignments are not available yet; omit tenant_id to grant a platform role",
      "tenant_id",
      "body",
    );
  }
}

/**
 * Cache invalidation runs after the commit: before it, a concurrent request could re-cache the
 * old grants. A cache outage must not turn a committed change into an error; the checker reads
 * the database while the cache is down, and the log says which entries may be stale after it.
 */
async function invalidate(ctx: RolesContext, scope: "all" | string[]): Promise<void> {
  const checker = ctx.permissions;
  if (!checker || (Array.isArray(scope) && scope.length === 0)) return;
  try {
    if (scope === "all") await checker.invalidateAll();
    else await Promise.all(scope.map((userId) => checker.invalidateUser(userId)));
  } catch (error) {
    if (!(error instanceof CacheUnavailableError)) throw error;
    ctx.log.error("permission cache not invalidated after a role change", {
      scope: scope === "all" ? "all" : scope,
      error: error.message,
    });
  }
}

async function detailOrThrow(ctx: { db: Sql }, id: number) {
  const role = await rolesRepository(ctx.db).detail(id);
  if (!role) throw roleNotFound(id);
  return role;
}

export const roles = {
  async list(ctx: RolesContext, filter: RoleFilter) {
    return rolesRepository(ctx.db).list(filter);
  },

  async get(ctx: RolesContext, id: number) {
    return detailOrThrow(ctx, id);
  },

  async getByCode(ctx: RolesContext, code: string) {
    const role = await rolesRepository(ctx.db).detailByCode(code);
    if (!role) throw notFound(`Role ${code} not found`, "code", "path");
    return role;
  },

  async create(ctx: RolesContext, input: CreateRoleInput) {
    const tenantRole = input.role_level === "tenant";
    // Where a role applies follows from its level: a platform grant has no tenant, and tenant
    // roles exist only to be granted within one.
    if (input.tenant_scoped !== undefined && input.tenant_scoped !== tenantRole) {
      throw ApiError.badRequest(
        `tenant_scoped must be ${tenantRole} for a ${input.role_level} role`,
        "tenant_scoped",
        "body",
      );
    }
    const role = await ctx.db.begin(async (tx) => {
      const repo = rolesRepository(tx);
      const inserted = await repo.insert({
        code: input.code,
        name: input.name,
        display_name: input.display_name ?? null,
        description: input.description ?? null,
        role_level: input.role_level,
        priority: input.priority,
        max_assignees: input.max_assignees ?? null,
        tenant_scoped: tenantRole,
        requires_approval: input.requires_approval ?? false,
        role_config: input.role_config ?? {},
        metadata: input.metadata ?? {},
      });
      if (!inserted) {
        const owner = await repo.codeOwner(input.code);
        throw conflict(
          owner?.deleted
            ? `Code ${input.code} belonged to a deleted role; role codes are never reused`
            : `A role with code ${input.code} already exists`,
          "code",
          "body",
        );
      }
      const created = await repo.detail(inserted.id);
      if (!created) throw new Error("created role not readable in its transaction");
      await audit(tx, ctx, "create", created.id, { after: created });
      return created;
    });
    ctx.log.info("role created", { role_id: role.id, code: role.code, actor: ctx.actor.id });
    return role;
  },

  async update(ctx: RolesContext, id: number, input: UpdateRoleInput) {
    const role = await ctx.db.begin(async (tx) => {
      const repo = rolesRepository(tx);
      const current = await repo.lock(id);
      if (!current) throw roleNotFound(id);
      assertMutable(current);
      if (input.max_assignees !== undefined && input.max_assignees !== null) {
        const live = (await repo.liveAssigneeCounts([id])).get(id) ?? 0;
        if (live > input.max_assignees) {
          throw conflict(
            `Role ${current.code} has ${live} active assignees, more than max_assignees ${input.max_assignees}; unassign some first`,
            "max_assignees",
            "body",
          );
        }
      }
      await repo.update(id, input);
      const updated = await repo.detail(id);
      if (!updated) throw roleNotFound(id);
      await audit(tx, ctx, "update", id, { before: current, after: updated });
      return updated;
    });
    await invalidate(ctx, "all");
    ctx.log.info("role updated", { role_id: id, fields: Object.keys(input), actor: ctx.actor.id });
    return role;
  },

  async remove(ctx: RolesContext, id: number, options: { force: boolean }) {
    const result = await ctx.db.begin(async (tx) => {
      const repo = rolesRepository(tx);
      const role = await repo.lock(id);
      if (!role) throw roleNotFound(id);
      assertMutable(role);
      const live = (await repo.liveAssigneeCounts([id])).get(id) ?? 0;
      if (live > 0 && !options.force) {
        throw conflict(
          `Role ${role.code} has ${live} active assignees; unassign them first, or pass force=true to deactivate their assignments`,
          "force",
          "query",
        );
      }
      // Expired or orphaned grants are deactivated too: nothing should point at a deleted role.
      const users = await repo.deactivateAssignments(id);
      const deletedAt = await repo.softDelete(id);
      const removed = {
        id,
        code: role.code,
        deleted_at: deletedAt,
        deactivated_assignments: users.length,
      };
      await audit(tx, ctx, "delete", id, { before: role, after: removed });
      return removed;
    });
    await invalidate(ctx, "all");
    ctx.log.info("role deleted", { ...result, force: options.force, actor: ctx.actor.id });
    return result;
  },

  async setPermissions(ctx: RolesContext, id: number, input: SetRolePermissionsInput) {
    const result = await ctx.db.begin(async (tx) => {
      const repo = rolesRepository(tx);
      const role = await repo.lock(id);
      if (!role) throw roleNotFound(id);
      assertMutable(role);

      const ids = [...new Set(input.permission_ids ?? [])];
      const codes = [...new Set(input.permission_codes ?? [])];
      const [byId, byCode] = await Promise.all([
        repo.permissionsByIds(ids),
        repo.permissionsByCodes(codes),
      ]);
      const foundIds = new Set(byId.map((p) => p.id));
      const unknownIds = ids.filter((pid) => !foundIds.has(pid));
      if (unknownIds.length > 0) {
        throw ApiError.badRequest(
          `Unknown permission ids: ${unknownIds.join(", ")}`,
          "permission_ids",
          "body",
        );
      }
      const foundCodes = new Set(byCode.map((p) => p.code));
      const unknownCodes = codes.filter((code) => !foundCodes.has(code));
      if (unknownCodes.length > 0) {
        throw ApiError.badRequest(
          `Unknown permission codes: ${unknownCodes.join(", ")}`,
          "permission_codes",
          "body",
        );
      }

      const wanted = new Map<number, PermissionRef>();
      for (const p of [...byId, ...byCode]) wanted.set(p.id, p);
      const scope = role.role_level === "tenant" ? "tenant" : "platform";
      const misfits = [...wanted.values()].filter((p) => p.scope_level !== scope);
      if (misfits.length > 0) {
        throw ApiError.badRequest(
          `A ${role.role_level} role holds ${scope} permissions only; refused: ${misfits
            .map((p) => p.code)
            .sort()
            .join(", ")}`,
          input.permission_ids !== undefined && misfits.some((p) => foundIds.has(p.id))
            ? "permission_ids"
            : "permission_codes",
          "body",
        );
      }

      const current = await repo.permissionCodesOf(id);
      const held = new Set(current.map((p) => p.id));
      const added = [...wanted.values()].filter((p) => !held.has(p.id));
      const removed = input.replace ? current.filter((p) => !wanted.has(p.id)) : [];
      await repo.removePermissions(
        id,
        removed.map((p) => p.id),
      );
      await repo.addPermissions(
        id,
        added.map((p) => p.id),
      );
      const updated = await repo.detail(id);
      if (!updated) throw roleNotFound(id);
      const change = {
        added: added.map((p) => p.code).sort(),
        removed: removed.map((p) => p.code).sort(),
      };
      await audit(tx, ctx, "set_permissions", id, {
        before: { permissions: current.map((p) => p.code).sort() },
        after: { permissions: updated.permissions, ...change },
      });
      return { role: updated, ...change };
    });
    await invalidate(ctx, "all");
    ctx.log.info("role permissions changed", {
      role_id: id,
      added: result.added,
      removed: result.removed,
      actor: ctx.actor.id,
    });
    return result;
  },

  async assign(ctx: RolesContext, id: number, input: AssignRoleInput) {
    refuseTenantId(input.tenant_id);
    const assignment = await ctx.db.begin(async (tx) => {
      const repo = rolesRepository(tx);
      // The row lock serialises every assignment of this role, so the count below cannot be
      // overtaken by a concurrent grant between the check and the insert.
      const role = await repo.lock(id);
      if (!role) throw roleNotFound(id);
      assertPlatformAssignable(role, "role_id", "path");
      assertMayGrant(ctx.actor, role);
      if (!(await repo.existingUsers([input.user_id])).has(input.user_id)) {
        throw notFound(`User ${input.user_id} not found`, "user_id", "body");
      }
      if ((await repo.livePairs([input.user_id], [id])).size > 0) {
        throw conflict(`User ${input.user_id} already holds role ${role.code}`, "user_id", "body");
      }
      if (role.max_assignees !== null) {
        const live = (await repo.liveAssigneeCounts([id])).get(id) ?? 0;
        if (live >= role.max_assignees) {
          throw conflict(
            `Role ${role.code} already has its maximum of ${role.max_assignees} assignees`,
            "role_id",
            "path",
          );
        }
      }
      await repo.grant([
        {
          user_id: input.user_id,
          role_id: id,
          granted_by: ctx.actor.id,
          granted_reason: input.reason ?? null,
          expires_at: input.expires_at ?? null,
        },
      ]);
      const [row] = await repo.assignmentsOf(input.user_id, id);
      if (!row) throw new Error("granted assignment not readable in its transaction");
      await audit(tx, ctx, "assign", id, { after: row });
      return row;
    });
    await invalidate(ctx, [input.user_id]);
    ctx.log.info("role assigned", { role_id: id, user_id: input.user_id, actor: ctx.actor.id });
    return assignment;
  },

  async unassign(ctx: RolesContext, id: number, userId: string) {
    const assignment = await ctx.db.begin(async (tx) => {
      const repo = rolesRepository(tx);
      const role = await repo.lock(id);
      if (!role) throw roleNotFound(id);
      if (!(await repo.revoke(userId, id))) {
        throw notFound(`User ${userId} does not hold role ${role.code}`, "user_id", "path");
      }
      const [row] = await repo.assignmentsOf(userId, id);
      if (!row) throw new Error("revoked assignment not readable in its transaction");
      await audit(tx, ctx, "unassign", id, { after: row });
      return row;
    });
    await invalidate(ctx, [userId]);
    ctx.log.info("role unassigned", { role_id: id, user_id: userId, actor: ctx.actor.id });
    return assignment;
  },

  async bulkAssign(ctx: RolesContext, input: BulkAssignInput) {
    refuseTenantId(input.tenant_id);
    const userIds = [...new Set(input.user_ids)];
    const roleIds = [...new Set(input.role_ids)].sort((a, b) => a - b);
    const report = await ctx.db.begin(async (tx) => {
      const repo = rolesRepository(tx);
      const locked = await repo.lockMany(roleIds);
      const lockedIds = new Set(locked.map((r) => r.id));
      const missingRoles = roleIds.filter((rid) => !lockedIds.has(rid));
      if (missingRoles.length > 0) {
        throw notFound(`Roles not found: ${missingRoles.join(", ")}`, "role_ids", "body");
      }
      const tenantRoles = locked.filter((r) => r.role_level === "tenant");
      if (tenantRoles.length > 0) {
        throw ApiError.badRequest(
          `Tenant roles are granted per tenant, which the tenants feature will provide: ${tenantRoles
            .map((r) => r.code)
            .join(", ")}`,
          "role_ids",
          "body",
        );
      }
      for (const role of locked) assertMayGrant(ctx.actor, role);
      const users = await repo.existingUsers(userIds);
      const missingUsers = userIds.filter((uid) => !users.has(uid));
      if (missingUsers.length > 0) {
        throw notFound(`Users not found: ${missingUsers.join(", ")}`, "user_ids", "body");
      }

      const live = await repo.livePairs(userIds, roleIds);
      const grants: Grant[] = [];
      const already: { user_id: string; role_id: number }[] = [];
      for (const roleId of roleIds) {
        for (const userId of userIds) {
          if (live.has(pairKey(userId, roleId))) already.push({ user_id: userId, role_id: roleId });
          else
            grants.push({
              user_id: userId,
              role_id: roleId,
              granted_by: ctx.actor.id,
              granted_reason: input.reason ?? null,
              expires_at: input.expires_at ?? null,
            });
        }
      }
      const counts = await repo.liveAssigneeCounts(roleIds);
      for (const role of locked) {
        if (role.max_assignees === null) continue;
        const adding = grants.filter((g) => g.role_id === role.id).length;
        const total = (counts.get(role.id) ?? 0) + adding;
        if (adding > 0 && total > role.max_assignees) {
          throw conflict(
            `Role ${role.code} allows ${role.max_assignees} assignees; this would make ${total}`,
            "role_ids",
            "body",
          );
        }
      }
      await repo.grant(grants);
      for (const grant of grants) {
        await audit(tx, ctx, "bulk_assign", grant.role_id, { after: grant });
      }
      return {
        assigned: grants.map((g) => ({ user_id: g.user_id, role_id: g.role_id })),
        already_assigned: already,
      };
    });
    await invalidate(ctx, [...new Set(report.assigned.map((a) => a.user_id))]);
    ctx.log.info("roles bulk-assigned", {
      roles: roleIds,
      assigned: report.assigned.length,
      already_assigned: report.already_assigned.length,
      actor: ctx.actor.id,
    });
    return report;
  },

  async userRoles(ctx: RolesContext, userId: string) {
    const repo = rolesRepository(ctx.db);
    if (!(await repo.existingUsers([userId])).has(userId)) {
      throw notFound(`User ${userId} not found`, "user_id", "path");
    }
    return repo.assignmentsOf(userId);
  },
};
