import { z } from "@hono/zod-openapi";
import type { ISql, Sql } from "postgres";
import { type AuditContext, recordAudit } from "../../core/audit/audit-log";
import type { Identity } from "../../core/auth/identity";
import { forgetPrincipal, type PlatformPrincipal } from "../../core/auth/principal";
import { cachedValue, forgetValue } from "../../core/cache/cached-value";
import { CacheUnavailableError } from "../../core/cache/errors";
import { keys } from "../../core/cache/keys";
import type { Cache } from "../../core/cache/port";
import { checkViolation, uniqueViolation } from "../../core/db/sql-fragments";
import { cursorPage, decodeCursor } from "../../core/http/cursor";
import { ApiError } from "../../core/http/errors";
import { pagination } from "../../core/http/pagination";
import {
  type ExpectedVersions,
  preconditionFailed,
  versionMatches,
} from "../../core/http/versioning";
import type { Logger } from "../../core/log/logger";
import {
  presentUser,
  type UserOrder,
  type UserPosition,
  type UserRow,
  usersRepository,
} from "./repository";
import {
  type BulkItem,
  type BulkRequest,
  type CreateUserInput,
  type PlatformUser,
  type SearchRequest,
  type UpdateUserInput,
  USER_SORTS,
  type UserFilter,
  type UserListInput,
  type UserSort,
} from "./schemas";

export interface UsersContext {
  db: Sql;
  cache: Cache;
  log: Logger;
  /** Absent only when no identity provider is configured (then no protected route runs). */
  identity: Identity | undefined;
  waitUntil(promise: Promise<unknown>): void;
}

/** Writes also carry who makes them (for the rules about oneself and superadmins) and why. */
export interface UsersWriteContext extends UsersContext {
  actor: PlatformPrincipal;
  audit: AuditContext;
}

const CACHE_TTL_SECONDS = 60;
/** A read that raced a revocation may re-cache the old principal: drop it once more after this. */
const SECOND_REVOCATION_MS = 1_000;
export const userCacheKey = (id: string) => keys.platform("users", id);

export function userNotFound(id: string, field = "user_id", location = "path"): ApiError {
  return new ApiError("NOT_FOUND", `User ${id} not found`, {
    details: [{ code: "NOT_FOUND", message: "No such platform user", field, location }],
  });
}

export const conflict = (message: string, field: string, location = "body") =>
  ApiError.conflict(message, field, location);

function forbidden(message: string, field?: string): ApiError {
  return new ApiError("FORBIDDEN", message, {
    details: [{ code: "FORBIDDEN", message, ...(field ? { field, location: "body" } : {}) }],
  });
}

const UNIQUE_FIELDS: Record<string, string> = {
  platform_users_email_key: "email",
  platform_users_username_key: "username",
  platform_users_external_id_key: "external_id",
  platform_users_external_auth_provider_external_user_id_key: "external_user_id",
};

/** Database refusals that are the caller's mistake, as field-level 4xx answers. */
export function translateWriteError(error: unknown): never {
  const unique = uniqueViolation(error);
  const field = unique === undefined ? undefined : UNIQUE_FIELDS[unique];
  if (field) throw conflict(`Another platform user already has this ${field}`, field);
  if (checkViolation(error) === "platform_users_email_check") {
    throw ApiError.badRequest("expected an email address", "email", "body");
  }
  throw error;
}

/** Runs a write; a stale If-Match also drops the cached copy, so the client's re-read is fresh. */
async function writing<T>(ctx: UsersContext, id: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof ApiError && error.code === "PRECONDITION_FAILED") {
      await forgetValue(ctx, userCacheKey(id));
    }
    translateWriteError(error);
  }
}

/** Locks the row for the write and checks the caller's If-Match against it. */
export async function lockForWrite(
  tx: ISql,
  id: string,
  expected: ExpectedVersions,
): Promise<UserRow> {
  const row = await usersRepository(tx).byId(id, { lock: true });
  if (!row) throw userNotFound(id);
  if (!versionMatches(expected, row.version)) throw preconditionFailed(row.version);
  return row;
}

/** A superadmin's account is changed in status, existence or rank by superadmins only. */
function assertMayManage(actor: PlatformPrincipal, target: UserRow, what: string): void {
  if (target.is_superadmin && !actor.is_superadmin) {
    throw forbidden(`Only a superadmin may ${what} a superadmin`);
  }
}

/** The platform must keep one active superadmin: the last one is never removed. */
async function assertSuperadminRemains(tx: ISql, removing: readonly string[]): Promise<void> {
  if ((await usersRepository(tx).otherActiveSuperadmins(removing)) === 0) {
    throw conflict("This would leave the platform without an active superadmin", "user_id", "path");
  }
}

async function quietly(ctx: UsersContext, what: string, work: () => Promise<unknown>) {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof CacheUnavailableError)) throw error;
    ctx.log.error(`${what} not invalidated after a user change`, { error: error.message });
  }
}

/**
 * After a committed change to who a user is or what they may do (status, deletion, superadmin):
 * their cached principal and permissions go, so their very next request is decided on the new
 * row. Once more a moment later, in case a request that read the old row re-cached it meanwhile.
 */
export async function revokeCachedAccess(
  ctx: UsersContext,
  users: readonly Pick<UserRow, "id" | "external_user_id">[],
): Promise<void> {
  const once = async () => {
    for (const user of users) {
      await quietly(ctx, "cached principal", () =>
        forgetPrincipal(ctx.cache, user.external_user_id),
      );
      const checker = ctx.identity?.permissions;
      if (checker) await quietly(ctx, "permission cache", () => checker.invalidateUser(user.id));
    }
    await forgetValue(ctx, ...users.map((u) => userCacheKey(u.id)));
  };
  await once();
  ctx.waitUntil(
    new Promise((resolve) => setTimeout(resolve, SECOND_REVOCATION_MS)).then(once).catch(() => {}),
  );
}

/** The audit context with a reason from the body, when the body carries one. */
function withReason(audit: AuditContext, reason: string | undefined): AuditContext {
  return reason ? { ...audit, reason } : audit;
}

/** An update of one user under If-Match, audited; shared by admin and self-service writes. */
export async function updateUser(
  ctx: UsersWriteContext,
  id: string,
  patch: Record<string, unknown>,
  expected: ExpectedVersions,
  action: string,
  rules: (tx: ISql, before: UserRow) => Promise<void> = async () => {},
): Promise<PlatformUser> {
  return writing(ctx, id, async () => {
    const result = await ctx.db.begin(async (tx) => {
      const before = await lockForWrite(tx, id, expected);
      await rules(tx, before);
      const row = await usersRepository(tx).update(id, patch);
      const after = presentUser(row);
      if (after.version !== before.version) {
        await recordAudit(tx, ctx.audit, {
          action,
          resourceType: "platform_user",
          resourceId: id,
          before: presentUser(before),
          after,
        });
      }
      return { before, after };
    });
    if (result.before.is_superadmin !== result.after.is_superadmin) {
      await revokeCachedAccess(ctx, [result.before]);
    } else {
      await forgetValue(ctx, userCacheKey(id));
    }
    return result.after;
  });
}

// Lists

const Position = z.tuple([
  z.enum(Object.keys(USER_SORTS) as [UserSort, ...UserSort[]]),
  z.enum(["asc", "desc"]),
  z.string().max(400),
  z.uuid(),
]);
const TIMESTAMP = z.iso.datetime();

function decodePosition(cursor: string, order: UserOrder): UserPosition {
  const [sort, direction, key, id] = decodeCursor(cursor, Position);
  const keyValid =
    sort === "created_at" || sort === "last_login_at" ? TIMESTAMP.safeParse(key).success : true;
  if (sort !== order.sort || direction !== order.order || !keyValid) {
    throw ApiError.badRequest(
      "The cursor belongs to another sort order: start again without a cursor",
      "cursor",
      "query",
    );
  }
  return [key, id];
}

function orderOf(sort: UserSort, order: "asc" | "desc" | undefined): UserOrder {
  return { sort, order: order ?? USER_SORTS[sort] };
}

async function pageOf(
  ctx: UsersContext,
  filter: UserFilter,
  order: UserOrder,
  page: number,
  pageSize: number,
) {
  const { rows, total } = await usersRepository(ctx.db).page(
    filter,
    order,
    pageSize,
    (page - 1) * pageSize,
  );
  return { items: rows.map(presentUser), pagination: pagination(page, pageSize, total) };
}

export const users = {
  /** Page mode by default; cursor mode on `pagination_mode=cursor` or a `cursor`. */
  async list(ctx: UsersContext, query: UserListInput) {
    const { page, page_size, pagination_mode, cursor, sort, order, ...filter } = query;
    const ordering = orderOf(sort, order);
    if (pagination_mode === "page" && cursor) {
      throw ApiError.badRequest("A cursor is for pagination_mode=cursor", "cursor", "query");
    }
    if (pagination_mode !== "cursor" && !cursor) {
      return pageOf(ctx, filter, ordering, page ?? 1, page_size);
    }
    if (page !== undefined) {
      throw ApiError.badRequest(
        "page is for page mode; cursor mode pages with cursor",
        "page",
        "query",
      );
    }
    const after = cursor ? decodePosition(cursor, ordering) : undefined;
    const rows = await usersRepository(ctx.db).seek(filter, ordering, page_size + 1, after);
    return cursorPage(
      rows,
      page_size,
      (row) => [ordering.sort, ordering.order, row.sort_key ?? "", row.id],
      presentUser,
    );
  },

  async search(ctx: UsersContext, input: SearchRequest) {
    const filter: UserFilter = {
      ...input.filters,
      search: input.query,
      search_fields: input.fields,
    };
    return pageOf(
      ctx,
      filter,
      orderOf(input.sort_by, input.sort_order),
      input.page,
      input.page_size,
    );
  },

  async get(ctx: UsersContext, id: string): Promise<PlatformUser> {
    const user = await cachedValue(ctx, userCacheKey(id), CACHE_TTL_SECONDS, async () => {
      const row = await usersRepository(ctx.db).byId(id);
      return row && presentUser(row);
    });
    if (!user) throw userNotFound(id);
    return user;
  },

  async create(ctx: UsersWriteContext, input: CreateUserInput): Promise<PlatformUser> {
    return writing(ctx, "-", () =>
      ctx.db.begin(async (tx) => {
        const repo = usersRepository(tx);
        for (const field of ["email", "username", "external_id"] as const) {
          const value = input[field];
          if (!value) continue;
          const holder = await repo.holderOf(field, value);
          if (holder) {
            throw conflict(
              holder.deleted
                ? `This ${field} belonged to a deleted platform user; it is never reused`
                : `Another platform user already has this ${field}`,
              field,
            );
          }
        }
        const values = Object.fromEntries(
          Object.entries(input).filter(([, value]) => value !== undefined),
        );
        const user = presentUser(await repo.insert(values));
        await recordAudit(tx, ctx.audit, {
          action: "users.create",
          resourceType: "platform_user",
          resourceId: user.id,
          after: user,
        });
        return user;
      }),
    );
  },

  async update(
    ctx: UsersWriteContext,
    id: string,
    input: UpdateUserInput,
    expected: ExpectedVersions,
  ): Promise<PlatformUser> {
    if (input.is_superadmin !== undefined && !ctx.actor.is_superadmin) {
      throw forbidden("Only a superadmin may grant or revoke superadmin", "is_superadmin");
    }
    return updateUser(ctx, id, input, expected, "users.update", async (tx, before) => {
      if (input.is_superadmin === false && before.is_superadmin) {
        if (id === ctx.actor.id) {
          throw conflict("You cannot revoke your own superadmin", "is_superadmin");
        }
        if (before.is_active) await assertSuperadminRemains(tx, [id]);
      }
    });
  },

  async updatePreferences(
    ctx: UsersWriteContext,
    id: string,
    input: Record<string, unknown>,
    expected: ExpectedVersions,
  ): Promise<PlatformUser> {
    return updateUser(ctx, id, input, expected, "users.update_preferences");
  },

  /** Activates or deactivates a user; their next request is decided on the new status. */
  async setStatus(
    ctx: UsersWriteContext,
    id: string,
    input: { is_active: boolean; reason?: string | undefined },
  ): Promise<PlatformUser> {
    if (id === ctx.actor.id && !input.is_active) {
      throw conflict("You cannot deactivate yourself", "user_id", "path");
    }
    const audit = withReason(ctx.audit, input.reason);
    const result = await ctx.db.begin(async (tx) => {
      const before = await lockForWrite(tx, id, "any");
      if (before.is_active === input.is_active) return { before, after: presentUser(before) };
      assertMayManage(ctx.actor, before, input.is_active ? "activate" : "deactivate");
      if (!input.is_active && before.is_superadmin) await assertSuperadminRemains(tx, [id]);
      const after = presentUser(
        await usersRepository(tx).update(id, { is_active: input.is_active }),
      );
      await recordAudit(tx, audit, {
        action: "users.update_status",
        resourceType: "platform_user",
        resourceId: id,
        before: presentUser(before),
        after,
      });
      return { before, after };
    });
    if (result.after.version !== result.before.version) {
      await revokeCachedAccess(ctx, [result.before]);
      ctx.log.info("user status changed", { user_id: id, is_active: input.is_active });
    }
    return result.after;
  },

  /** Soft delete: `deleted_at` and `is_active = false`; the username and email stay taken. */
  async remove(ctx: UsersWriteContext, id: string, expected: ExpectedVersions) {
    if (id === ctx.actor.id) throw conflict("You cannot delete yourself", "user_id", "path");
    const deleted = await writing(ctx, id, () =>
      ctx.db.begin(async (tx) => {
        const before = await lockForWrite(tx, id, expected);
        assertMayManage(ctx.actor, before, "delete");
        if (before.is_superadmin && before.is_active) await assertSuperadminRemains(tx, [id]);
        const row = await usersRepository(tx).softDelete(id);
        await recordAudit(tx, ctx.audit, {
          action: "users.delete",
          resourceType: "platform_user",
          resourceId: id,
          before: presentUser(before),
          after: { ...presentUser(row), deleted_at: row.deleted_at?.toISOString() },
        });
        return row;
      }),
    );
    await revokeCachedAccess(ctx, [deleted]);
    return {
      id,
      username: deleted.username,
      deleted_at: (deleted.deleted_at ?? new Date()).toISOString(),
    };
  },

  /**
   * Per-item results in one transaction: every listed user is locked, each one is changed,
   * left unchanged (already in that state) or refused with its reason, and the changed ones
   * commit together with one audit entry each.
   */
  async bulk(ctx: UsersWriteContext, input: BulkRequest) {
    const audit = withReason(ctx.audit, input.reason);
    const action = `users.bulk_${input.operation}`;
    const { results, changed } = await ctx.db.begin(async (tx) => {
      const repo = usersRepository(tx);
      const byId = new Map((await repo.lockMany(input.user_ids)).map((row) => [row.id, row]));
      const removed: string[] = [];
      const changedRows: UserRow[] = [];
      const out: BulkItem[] = [];
      for (const id of input.user_ids) {
        const before = byId.get(id);
        const fail = (code: "NOT_FOUND" | "CONFLICT" | "FORBIDDEN", message: string) =>
          out.push({ user_id: id, outcome: "failed", error: { code, message } });
        if (!before) {
          fail("NOT_FOUND", "No such platform user");
          continue;
        }
        const removing = input.operation !== "activate";
        if (removing && id === ctx.actor.id) {
          fail("CONFLICT", `You cannot ${input.operation} yourself`);
          continue;
        }
        if (input.operation !== "delete" && before.is_active === (input.operation === "activate")) {
          out.push({ user_id: id, outcome: "unchanged", error: null });
          continue;
        }
        if (before.is_superadmin && !ctx.actor.is_superadmin) {
          fail("FORBIDDEN", `Only a superadmin may ${input.operation} a superadmin`);
          continue;
        }
        if (removing && before.is_superadmin && before.is_active) {
          if ((await repo.otherActiveSuperadmins([...removed, id])) === 0) {
            fail("CONFLICT", "This would leave the platform without an active superadmin");
            continue;
          }
          removed.push(id);
        }
        const row =
          input.operation === "delete"
            ? await repo.softDelete(id)
            : await repo.update(id, { is_active: input.operation === "activate" });
        await recordAudit(tx, audit, {
          action,
          resourceType: "platform_user",
          resourceId: id,
          before: presentUser(before),
          after: presentUser(row),
        });
        changedRows.push(row);
        out.push({ user_id: id, outcome: "changed", error: null });
      }
      return { results: out, changed: changedRows };
    });
    await revokeCachedAccess(ctx, changed);
    const count = (outcome: BulkItem["outcome"]) =>
      results.filter((r) => r.outcome === outcome).length;
    return {
      operation: input.operation,
      requested: input.user_ids.length,
      changed: count("changed"),
      unchanged: count("unchanged"),
      failed: count("failed"),
      results,
    };
  },
};
