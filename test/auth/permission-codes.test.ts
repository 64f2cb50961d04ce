import { describe, expect, it } from "vitest";
import {
  anyGrants,
  grants,
  isPermissionCode,
  splitCode,
} from "../../src/core/auth/permission-codes";

describe("permission codes", () => {
  it.each([
    ["users:read", "users:read", true],
    ["users:*", "users:read", true],
    ["users:*", "users:bulk_operations", true],
    ["users:*", "usersx:read", false],
    ["users:*", "tenant.users:read", false],
    ["tenant.users:*", "tenant.users:write", true],
    ["tenant.users:*", "tenant:read", false],
    ["tenant:*", "tenant.users:read", false],
    ["users:read", "users:write", false],
    ["users:rea", "users:read", false],
  ])("%s grants %s: %s", (granted, required, expected) => {
    expect(grants(granted, required)).toBe(expected);
  });

  it("matches against a set", () => {
    expect(anyGrants(new Set(["roles:read", "users:*"]), "users:delete")).toBe(true);
    expect(anyGrants([], "users:delete")).toBe(false);
  });

  it("validates the code form", () => {
    for (const ok of ["users:read", "tenant.users:write", "roles:manage_permissions", "users:*"]) {
      expect(isPermissionCode(ok)).toBe(true);
    }
    for (const bad of [
      "*",
      "*:*",
      "users",
      "Users:read",
      "users:read:x",
      "users.read",
      ":read",
      "users:",
    ]) {
      expect(isPermissionCode(bad)).toBe(false);
    }
    expect(splitCode("tenant.users:write")).toEqual({ resource: "tenant.users", action: "write" });
  });
});
