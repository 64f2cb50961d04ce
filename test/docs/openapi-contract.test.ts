import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_CSP } from "../../src/core/http/middleware/security";
import { docsAssetFiles } from "../../src/features/docs/assets";
import type { OpenApiDocument } from "../../src/features/docs/document";
import { DOCS_CSP } from "../../src/features/docs/routes";
import { createTestApp, type TestApp } from "../support/harness";

/** What every operation in the document owes its readers (STYLE.md, "OpenAPI"). */

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: {
    name: string;
    in: string;
    description?: string;
    schema?: { description?: string };
  }[];
  tags?: string[];
  security?: unknown[];
  responses?: Record<string, { $ref?: string }>;
}

function operationsOf(document: OpenApiDocument) {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    methods.flatMap((method) => {
      const operation = (item as Partial<Record<string, Operation>> | undefined)?.[method];
      return operation ? [{ name: `${method.toUpperCase()} ${path}`, operation }] : [];
    }),
  );
}

/** Every `$ref` in the document, with where it sits. */
function refsIn(value: unknown, at = "#"): { at: string; ref: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refsIn(v, `${at}/${i}`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, v]) =>
    key === "$ref" && typeof v === "string" ? [{ at, ref: v }] : refsIn(v, `${at}/${key}`),
  );
}

/** Resolves a local JSON pointer (`#/components/schemas/Name`), or undefined. */
function resolve(document: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = document;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

let t: TestApp;
let document: OpenApiDocument;
let operations: ReturnType<typeof operationsOf>;

beforeAll(async () => {
  t = await createTestApp();
  const response = await t.request("/openapi.json");
  expect(response.status).toBe(200);
  document = (await response.json()) as OpenApiDocument;
  operations = operationsOf(document);
});
afterAll(() => t.close());

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists the API's operations", () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(operations.length).toBeGreaterThanOrEqual(15);
    expect(operations.map((o) => o.operation.operationId)).toEqual(
      expect.arrayContaining(["getHealth", "listCurrencies", "getCountry", "getSession"]),
    );
  });

  it("gives every operation a unique operationId", () => {
    const ids = operations.map((o) => o.operation.operationId);
    expect(operations.filter((o) => !o.operation.operationId).map((o) => o.name)).toEqual([]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it("gives every operation a summary, exactly one tag and a security field", () => {
    const faults = operations.flatMap(({ name, operation }) => [
      ...(operation.summary?.trim() ? [] : [`${name}: no summary`]),
      ...(operation.tags?.length === 1 ? [] : [`${name}: tags ${JSON.stringify(operation.tags)}`]),
      ...(Array.isArray(operation.security) ? [] : [`${name}: no security field`]),
    ]);
    expect(faults).toEqual([]);
  });

  it("describes every operation and every parameter (what Scalar shows its readers)", () => {
    const faults = operations.flatMap(({ name, operation }) => [
      ...(operation.description?.trim() ? [] : [`${name}: no description`]),
      ...(operation.parameters ?? [])
        .filter((p) => !(p.description ?? p.schema?.description)?.trim())
        .map((p) => `${name}: parameter ${p.in} ${p.name} has no description`),
    ]);
    expect(faults).toEqual([]);
  });

  it("gives every operation its error responses as references to shared components", () => {
    const faults = operations.flatMap(({ name, operation }) => {
      const errors = Object.entries(operation.responses ?? {}).filter(([status]) =>
        /^[45]/.test(status),
      );
      const shared = errors.filter(([, r]) => r.$ref?.startsWith("#/components/responses/"));
      return shared.length > 0 ? [] : [`${name}: no 4xx/5xx response from components`];
    });
    expect(faults).toEqual([]);
  });

  it("puts every tag in exactly one x-tagGroups group, and no group lists an unused tag", () => {
    const used = new Set(operations.flatMap((o) => o.operation.tags ?? []));
    const groups = document["x-tagGroups"] ?? [];
    const grouped = groups.flatMap((g) => g.tags);
    for (const tag of used) {
      expect(
        grouped.filter((g) => g === tag),
        `groups holding ${tag}`,
      ).toHaveLength(1);
    }
    expect(grouped.filter((tag) => !used.has(tag))).toEqual([]);
    expect(groups.filter((g) => g.tags.length === 0)).toEqual([]);
  });

  it("describes every tag it uses", () => {
    const used = new Set(operations.flatMap((o) => o.operation.tags ?? []));
    const declared = new Map((document.tags ?? []).map((tag) => [tag.name, tag.description]));
    expect([...used].filter((tag) => !declared.get(tag) || declared.get(tag) === tag)).toEqual([]);
  });

  it("resolves every $ref", () => {
    const refs = refsIn(document);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter(({ ref }) => resolve(document, ref) === undefined)).toEqual([]);
  });

  it("is built once: the same object on every call, the same bytes on every request", async () => {
    expect(t.app.openApiDocument()).toBe(t.app.openApiDocument());
    const [a, b] = await Promise.all([t.request("/openapi.json"), t.request("/openapi.json")]);
    expect(await a.text()).toBe(await b.text());
  });
});

describe("docs pages and assets", () => {
  const pages = ["/docs", "/swagger", "/redoc"];

  it.each(pages)("%s is an HTML page under the docs CSP", async (path) => {
    const response = await t.request(path);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("content-security-policy")).toBe(DOCS_CSP);
    // Every script is a file of this origin: the CSP allows no inline script.
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc="\/docs\/assets\/)/);
  });

  it("API responses and the document keep the strict CSP", async () => {
    for (const path of ["/openapi.json", "/health", "/api/v1/currencies", "/docs/assets/nope.js"]) {
      const response = await t.request(path);
      expect(response.headers.get("content-security-policy"), path).toBe(API_CSP);
    }
  });

  it("the docs CSP allows only this origin, no inline or eval script", () => {
    expect(DOCS_CSP).toContain("default-src 'none'");
    expect(DOCS_CSP).toContain("script-src 'self';");
    expect(DOCS_CSP).not.toMatch(/'unsafe-eval'|https?:|\*/);
  });

  const assets = [
    ...Object.entries(docsAssetFiles).map(([name, { type }]) => ({ name, type })),
    ...["scalar-init.js", "swagger-init.js", "redoc-init.js"].map((name) => ({
      name,
      type: "text/javascript",
    })),
  ];

  it.each(assets)("/docs/assets/$name is served as $type", async ({ name, type }) => {
    const response = await t.request(`/docs/assets/${name}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(`${type}; charset=utf-8`);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it.each(["nope.js", "..%2Fpackage.json", "scalar.js.map", "SCALAR.JS", "toString"])(
    "an unknown asset (%s) is a 404 in the envelope",
    async (name) => {
      const response = await t.request(`/docs/assets/${name}`);
      expect(response.status).toBe(404);
      const body = await response.json();
      expect(body).toMatchObject({ success: false, data: null, errors: [{ code: "NOT_FOUND" }] });
    },
  );

  it("every page's scripts and stylesheets are assets this server serves", async () => {
    for (const path of pages) {
      const html = await (await t.request(path)).text();
      const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "");
      expect(urls.length, path).toBeGreaterThan(0);
      for (const url of urls) {
        expect(url, path).toMatch(/^\/docs\/assets\//);
        expect((await t.request(url)).status, url).toBe(200);
      }
    }
  });
});

describe("with DOCS_ENABLED=false", () => {
  let off: TestApp;
  beforeAll(async () => {
    off = await createTestApp({ DOCS_ENABLED: "false" });
  });
  afterAll(() => off.close());

  it.each(["/docs", "/swagger", "/redoc", "/openapi.json", "/docs/assets/scalar.js"])(
    "%s is a 404 in the envelope",
    async (path) => {
      const response = await off.request(path);
      expect(response.status).toBe(404);
      expect(response.headers.get("content-security-policy")).toBe(API_CSP);
      const body = await response.json();
      expect(body).toMatchObject({ success: false, data: null, errors: [{ code: "NOT_FOUND" }] });
    },
  );
});
