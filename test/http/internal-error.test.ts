import { describe, expect, it } from "vitest";
import { internalErrorResponse } from "../../src/core/http/internal-error";

describe("the 500 for a request the app could not answer", () => {
  it("is the envelope, says nothing about why, and is never cached", async () => {
    const response = internalErrorResponse();
    expect(response.status).toBe(500);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = await response.json();
    expect(body).toMatchObject({
      success: false,
      data: null,
      message: "Internal server error",
      errors: [{ code: "INTERNAL_ERROR", message: "Internal server error" }],
    });
    expect(body.metadata.request_id).toBe(response.headers.get("x-request-id"));
    expect(Date.parse(body.metadata.timestamp)).not.toBeNaN();
  });

  it("keeps a valid incoming request id and replaces an invalid one", async () => {
    expect(internalErrorResponse("req-12345678").headers.get("x-request-id")).toBe("req-12345678");
    const replaced = internalErrorResponse("bad id with spaces").headers.get("x-request-id");
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });
});
