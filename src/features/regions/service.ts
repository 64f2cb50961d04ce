import type { ISql } from "postgres";
import { recordAudit } from "../../core/audit/audit-log";
import { cachedValue, forgetValue } from "../../core/cache/cached-value";
import { keys } from "../../core/cache/keys";
import { checkViolation, foreignKeyViolation, uniqueViolation } from "../../core/db/sql-fragments";
import { ApiError } from "../../core/http/errors";
import { listWindow, pageOfItems } from "../../core/http/pagination";
import type { ServiceContext, WriteContext } from "../../core/http/service-context";
import { assertVersion, type ExpectedVersions } from "../../core/http/versioning";
import { presentRegion, type RegionRow, regionsRepository } from "./repository";
import {
  type CreateRegionInput,
  REGION_SORTS,
  type Region,
  type RegionListInput,
  type UpdateRegionInput,
} from "./schemas";

const CACHE_TTL_SECONDS = 60;
const cacheKey = (id: string) => keys.platform("regions", id);

function notFound(id: string): ApiError {
  return new ApiError("NOT_FOUND", `Region ${id} not found`, {
    details: [
      { code: "NOT_FOUND", message: "No such region", field: "region_id", location: "path" },
    ],
  });
}

const conflict = (message: string, field: string, location = "body") =>
  ApiError.conflict(message, field, location);

/** Database refusals that are the caller's mistake, as field-level 4xx answers. */
function translateWriteError(
  error: unknown,
  input: { code?: string; country_code?: string },
): never {
  if (uniqueViolation(error) === "regions_code_key") {
    throw conflict(`A region with code ${input.code} already exists`, "code");
  }
  if (foreignKeyViolation(error)?.includes("country_code")) {
    throw ApiError.badRequest(`Unknown country ${input.country_code}`, "country_code", "body");
  }
  if (checkViolation(error) === "regions_current_within_max") {
    throw conflict(
      "max_tenants cannot be below the region's current number of tenants",
      "max_tenants",
    );
  }
  throw error;
}

/** Locks the row for the write and checks the caller's If-Match against it. */
async function lockForWrite(tx: ISql, id: string, expected: ExpectedVersions): Promise<RegionRow> {
  const row = await regionsRepository(tx).byId(id, { lock: true });
  if (!row) throw notFound(id);
  assertVersion(expected, row.version);
  return row;
}

async function assertUnused(tx: ISql, id: string, what: string): Promise<void> {
  const usage = await regionsRepository(tx).usage(id);
  if (usage.active_connections > 0 || usage.active_tenants > 0) {
    throw ApiError.conflict(
      `The region cannot be ${what} while it has ${usage.active_connections} active database connection(s) and ${usage.active_tenants} active tenant(s)`,
      "region_id",
      "path",
    );
  }
}

export const regions = {
  async list(ctx: ServiceContext, query: RegionListInput) {
    const { rows, total } = await regionsRepository(ctx.db).list({
      ...query,
      ...listWindow(query, REGION_SORTS),
    });
    return pageOfItems(query, rows.map(presentRegion), total);
  },

  async get(ctx: ServiceContext, id: string): Promise<Region> {
    const region = await cachedValue(ctx, cacheKey(id), CACHE_TTL_SECONDS, async () => {
      const row = await regionsRepository(ctx.db).byId(id);
      return row && presentRegion(row);
    });
    if (!region) throw notFound(id);
    return region;
  },

  async getByCode(ctx: ServiceContext, code: string): Promise<Region> {
    const row = await regionsRepository(ctx.db).byCode(code);
    if (!row) {
      throw new ApiError("NOT_FOUND", `Region ${code} not found`, {
        details: [
          { code: "NOT_FOUND", message: "No such region", field: "code", location: "path" },
        ],
      });
    }
    return presentRegion(row);
  },

  async create(ctx: WriteContext, input: CreateRegionInput): Promise<Region> {
    try {
      return await ctx.db.begin(async (tx) => {
        const region = presentRegion(await regionsRepository(tx).insert(input));
        await recordAudit(tx, ctx.audit, {
          action: "regions.create",
          resourceType: "region",
          resourceId: region.id,
          after: region,
        });
        return region;
      });
    } catch (error) {
      translateWriteError(error, input);
    }
  },

  async update(
    ctx: WriteContext,
    id: string,
    input: UpdateRegionInput,
    expected: ExpectedVersions,
  ): Promise<Region> {
    try {
      const region = await ctx.db.begin(async (tx) => {
        const before = await lockForWrite(tx, id, expected);
        if (input.is_active === false && before.is_active)
          await assertUnused(tx, id, "deactivated");
        const row = await regionsRepository(tx).update(id, input);
        const after = presentRegion(row as RegionRow);
        await recordAudit(tx, ctx.audit, {
          action: "regions.update",
          resourceType: "region",
          resourceId: id,
          before: presentRegion(before),
          after,
        });
        return after;
      });
      await forgetValue(ctx, cacheKey(id));
      return region;
    } catch (error) {
      translateWriteError(error, {});
    }
  },

  /** Soft deactivation (regions are never deleted: connections and history point at them). */
  async deactivate(ctx: WriteContext, id: string, expected: ExpectedVersions) {
    const region = await ctx.db.begin(async (tx) => {
      const before = await lockForWrite(tx, id, expected);
      await assertUnused(tx, id, "deactivated");
      const row = await regionsRepository(tx).update(id, {
        is_active: false,
        accepts_new_tenants: false,
      });
      const after = presentRegion(row as RegionRow);
      await recordAudit(tx, ctx.audit, {
        action: "regions.deactivate",
        resourceType: "region",
        resourceId: id,
        before: presentRegion(before),
        after,
      });
      return after;
    });
    await forgetValue(ctx, cacheKey(id));
    return region;
  },

  /** Recounts the tenants placed in the region (every tenant not archived or deleted). */
  async recountTenants(ctx: WriteContext, id: string) {
    const result = await ctx.db.begin(async (tx) => {
      const repo = regionsRepository(tx);
      const before = await repo.byId(id, { lock: true });
      if (!before) throw notFound(id);
      const count = await repo.countTenants(id);
      if (count > before.max_tenants) {
        throw conflict(
          `The region holds ${count} tenants, more than its max_tenants (${before.max_tenants}): raise max_tenants first`,
          "max_tenants",
        );
      }
      let region = presentRegion(before);
      if (count !== before.current_tenants) {
        region = presentRegion((await repo.update(id, { current_tenants: count })) as RegionRow);
        await recordAudit(tx, ctx.audit, {
          action: "regions.recount_tenants",
          resourceType: "region",
          resourceId: id,
          before: { current_tenants: before.current_tenants },
          after: { current_tenants: count },
        });
      }
      return { region, previous_count: before.current_tenants, current_tenants: count };
    });
    await forgetValue(ctx, cacheKey(id));
    return result;
  },
};
