import type { Region } from "../../src/features/regions/schemas";
import type { ApiClient } from "../support/api-client";

/** A region code (at most 15 characters) no other test or earlier run on the database uses. */
export function uniqueRegionCode(prefix = "t"): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${((random[0] ?? 0) * 2 ** 20 + ((random[1] ?? 0) >>> 12)).toString(36)}`.slice(
    0,
    15,
  );
}

export function regionInput(overrides: Record<string, unknown> = {}) {
  return {
    code: uniqueRegionCode(),
    name: "Test Region",
    display_name: "Test Region (Dublin)",
    country_code: "IE",
    continent: "Europe",
    city: "Dublin",
    timezone: "Europe/Dublin",
    gdpr_region: true,
    primary_endpoint: "db.test.example.com",
    max_tenants: 10,
    ...overrides,
  };
}

export async function createRegion(
  client: Pick<ApiClient, "post">,
  overrides: Record<string, unknown> = {},
): Promise<Region> {
  const reply = await client.post<Region>("/regions", regionInput(overrides));
  if (reply.status !== 201) {
    throw new Error(`region not created: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body.data;
}
