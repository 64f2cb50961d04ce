import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, randomIp, type TestApp } from "../support/harness";

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await createTestApp({ GUEST_SESSION_REQUEST_LIMIT: "100000" });
  const res = await t.request("/api/v1/session", { ip: randomIp() });
  token = res.headers.get("x-guest-session") as string;
});
afterAll(() => t.close());

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await t.request(path, { headers: { "x-guest-session": token, ...headers } });
  const text = await res.text();
  return { res, status: res.status, body: text ? JSON.parse(text) : null };
}

describe("currencies", () => {
  it("lists a page ordered by code with pagination", async () => {
    const { status, body } = await get("/api/v1/currencies?page=1&page_size=20");
    expect(status).toBe(200);
    const { items, pagination } = body.data;
    expect(items).toHaveLength(20);
    expect(items.map((c: { code: string }) => c.code)).toEqual(
      [...items.map((c: { code: string }) => c.code)].sort(),
    );
    expect(pagination).toMatchObject({
      page: 1,
      page_size: 20,
      has_previous: false,
      has_next: true,
    });
    expect(pagination.total_items).toBeGreaterThan(250);
    expect(pagination.total_pages).toBe(Math.ceil(pagination.total_items / 20));
  });

  it("defaults to 20 per page", async () => {
    const { body } = await get("/api/v1/currencies");
    expect(body.data.pagination.page_size).toBe(20);
  });

  it("returns an empty page past the end with the right totals", async () => {
    const { body } = await get("/api/v1/currencies?page=999&page_size=100");
    expect(body.data.items).toEqual([]);
    expect(body.data.pagination.total_items).toBeGreaterThan(250);
    expect(body.data.pagination.has_next).toBe(false);
    expect(body.data.pagination.has_previous).toBe(true);
  });

  it("filters by status, minor unit and legal tender, and searches code or name", async () => {
    const historical = await get("/api/v1/currencies?status=historical&page_size=100");
    const codes = historical.body.data.items.map((c: { code: string }) => c.code);
    expect(codes).toContain("DEM");
    expect(codes).not.toContain("EUR");
    for (const item of historical.body.data.items) expect(item.status).toBe("historical");

    const zero = await get("/api/v1/currencies?minor_unit=0&status=active&page_size=100");
    expect(zero.body.data.items.map((c: { code: string }) => c.code)).toContain("JPY");
    for (const item of zero.body.data.items) expect(item.minor_unit).toBe(0);

    const notTender = await get(
      "/api/v1/currencies?is_legal_tender=false&status=active&page_size=100",
    );
    expect(notTender.body.data.items.map((c: { code: string }) => c.code)).toContain("XAU");

    const search = await get("/api/v1/currencies?search=euro");
    expect(search.body.data.items.map((c: { code: string }) => c.code)).toContain("EUR");
    const byCode = await get("/api/v1/currencies?search=usd");
    expect(byCode.body.data.items[0].code).toBe("USD");
  });

  it("treats % and _ in search as literal characters", async () => {
    const { body } = await get("/api/v1/currencies?search=%25");
    expect(body.data.items).toEqual([]);
  });

  it("sorts by an allowed field, descending with a minus", async () => {
    const { body } = await get("/api/v1/currencies?sort=-code&page_size=5&status=active");
    const codes = body.data.items.map((c: { code: string }) => c.code);
    expect(codes).toEqual([...codes].sort().reverse());
    const bad = await get("/api/v1/currencies?sort=symbol;drop");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({ field: "sort", location: "query" });
  });

  it("lists all active currencies unpaginated", async () => {
    const { body } = await get("/api/v1/currencies/active");
    expect(body.data.length).toBeGreaterThan(150);
    for (const c of body.data) expect(c.status).toBe("active");
  });

  it("gets one by code, case-insensitively, with every field", async () => {
    const { status, body } = await get("/api/v1/currencies/usd");
    expect(status).toBe(200);
    expect(body.data).toMatchObject({
      code: "USD",
      numeric_code: "840",
      minor_unit: 2,
      name: "US Dollar",
      symbol: "$",
      status: "active",
      is_cryptocurrency: false,
      is_legal_tender: true,
    });
    expect(Date.parse(body.data.created_at)).not.toBeNaN();
  });
});

describe("countries", () => {
  it("lists all 249, ordered by name", async () => {
    const { body } = await get("/api/v1/countries?page_size=100&page=1");
    expect(body.data.pagination.total_items).toBe(249);
    const names = body.data.items.map((c: { name: string }) => c.name);
    expect(names).toEqual([...names].sort((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it("filters by continent, region, GDPR and default currency", async () => {
    const eu = await get("/api/v1/countries?gdpr_applicable=true&page_size=100");
    const codes = eu.body.data.items.map((c: { code: string }) => c.code);
    expect(codes).toEqual(expect.arrayContaining(["DE", "FR", "NO", "IS", "LI"]));
    expect(codes).not.toContain("CH");
    expect(codes).not.toContain("GB");

    const europeEur = await get(
      "/api/v1/countries?continent=Europe&default_currency_code=eur&page_size=100",
    );
    for (const c of europeEur.body.data.items) {
      expect(c).toMatchObject({ continent: "Europe", default_currency_code: "EUR" });
    }
    const region = await get("/api/v1/countries?region=western%20europe&page_size=100");
    expect(region.body.data.items.map((c: { code: string }) => c.code)).toContain("DE");
  });

  it("searches code, alpha-3 code and name", async () => {
    const byCode3 = await get("/api/v1/countries?search=DEU");
    expect(byCode3.body.data.items.map((c: { code: string }) => c.code)).toContain("DE");
    const byName = await get("/api/v1/countries?search=germ");
    expect(byName.body.data.items[0].code).toBe("DE");
  });

  it("lists active countries on a continent, accepting several spellings", async () => {
    for (const spelling of ["south-america", "South%20America", "SOUTH_AMERICA"]) {
      const { status, body } = await get(`/api/v1/countries/continent/${spelling}`);
      expect(status).toBe(200);
      expect(body.data.map((c: { code: string }) => c.code)).toContain("BR");
    }
    const bad = await get("/api/v1/countries/continent/atlantis");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].message).toContain("North America");
  });

  it("lists the GDPR countries: EU-27 plus EEA, and their outermost regions", async () => {
    const { body } = await get("/api/v1/countries/gdpr");
    const codes = body.data.map((c: { code: string }) => c.code);
    expect(codes.length).toBeGreaterThanOrEqual(30);
    expect(codes).toEqual(expect.arrayContaining(["DE", "IE", "IS", "NO", "LI", "RE"]));
    expect(codes).not.toContain("CH");
  });

  it("gets a country by alpha-2 and by alpha-3", async () => {
    const de = await get("/api/v1/countries/de");
    expect(de.body.data).toMatchObject({
      code: "DE",
      code3: "DEU",
      numeric_code: "276",
      name: "Germany",
      region: "Western Europe",
      continent: "Europe",
      calling_code: "+49",
      default_currency_code: "EUR",
      gdpr_applicable: true,
      data_localization_required: false,
    });
    const byCode3 = await get("/api/v1/countries/code3/deu");
    expect(byCode3.body.data.code).toBe("DE");
    const aq = await get("/api/v1/countries/AQ");
    expect(aq.body.data).toMatchObject({ continent: "Antarctica", default_currency_code: null });
  });
});

describe("languages", () => {
  it("lists at least the 184 ISO 639-1 languages, ordered by name", async () => {
    const { body } = await get("/api/v1/languages?page_size=100");
    expect(body.data.pagination.total_items).toBeGreaterThanOrEqual(184);
    const second = await get("/api/v1/languages?page_size=100&page=2");
    const names = [...body.data.items, ...second.body.data.items].map(
      (l: { name: string }) => l.name,
    );
    expect(names.length).toBeGreaterThanOrEqual(184);
    expect(names).toEqual([...names].sort((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it("filters by writing direction and iso639_1, searches native names", async () => {
    const rtl = await get("/api/v1/languages?writing_direction=rtl&page_size=100");
    const codes = rtl.body.data.items.map((l: { code: string }) => l.code);
    expect(codes).toEqual(expect.arrayContaining(["ar", "he", "fa", "ur"]));
    expect(codes).not.toContain("en");
    const iso = await get("/api/v1/languages?iso639_1=DE");
    expect(iso.body.data.items.map((l: { code: string }) => l.code)).toEqual(["de"]);
    const native = await get("/api/v1/languages?search=Deutsch");
    expect(native.body.data.items[0].code).toBe("de");
  });

  it("lists active languages and gets one by code or ISO 639-1", async () => {
    const active = await get("/api/v1/languages/active");
    expect(active.body.data.length).toBeGreaterThanOrEqual(184);
    const en = await get("/api/v1/languages/en");
    expect(en.body.data).toMatchObject({
      code: "en",
      iso639_1: "en",
      iso639_2: "eng",
      name: "English",
      native_name: "English",
      writing_direction: "ltr",
    });
    const ar = await get("/api/v1/languages/iso639-1/AR");
    expect(ar.body.data).toMatchObject({ code: "ar", writing_direction: "rtl" });
  });
});

describe("boolean and status filters partition their list", () => {
  // Each value keeps only matching items, and the values together give the whole list.
  it.each([
    ["/api/v1/currencies", "is_cryptocurrency", ["true", "false"], (v: string) => v === "true"],
    ["/api/v1/currencies", "is_legal_tender", ["true", "false"], (v: string) => v === "true"],
    [
      "/api/v1/countries",
      "data_localization_required",
      ["true", "false"],
      (v: string) => v === "true",
    ],
    ["/api/v1/countries", "status", ["active", "inactive"], (v: string) => v],
    ["/api/v1/languages", "status", ["active", "inactive"], (v: string) => v],
  ] as const)("%s?%s=", async (path, field, values, expected) => {
    const all = await get(`${path}?page_size=100`);
    let total = 0;
    for (const value of values) {
      const { status, body } = await get(`${path}?${field}=${value}&page_size=100`);
      expect(status, `${field}=${value}`).toBe(200);
      for (const item of body.data.items) expect(item[field], item.code).toBe(expected(value));
      total += body.data.pagination.total_items;
    }
    expect(total).toBe(all.body.data.pagination.total_items);
  });

  it("rejects a value outside the field's type with 400 naming it", async () => {
    const { status, body } = await get("/api/v1/countries?data_localization_required=maybe");
    expect(status).toBe(400);
    expect(body.errors[0].field).toBe("data_localization_required");
  });
});

describe("errors", () => {
  it.each([
    ["/api/v1/currencies/ZZZ", "Currency ZZZ not found"],
    ["/api/v1/countries/ZZ", "Country ZZ not found"],
    ["/api/v1/countries/code3/ZZZ", "Country ZZZ not found"],
    ["/api/v1/languages/zz", "Language zz not found"],
    ["/api/v1/languages/iso639-1/zz", "Language zz not found"],
  ])("%s is a 404 in the envelope", async (path, message) => {
    for (let i = 0; i < 2; i++) {
      // The second answer comes from the negative cache: it must be the same.
      const { status, body } = await get(path);
      expect(status).toBe(404);
      expect(body).toMatchObject({
        success: false,
        data: null,
        message,
        errors: [{ code: "NOT_FOUND" }],
      });
    }
  });

  it.each([
    ["/api/v1/currencies/EURO", "code"],
    ["/api/v1/currencies/E1R", "code"],
    ["/api/v1/countries/DEU", "code"],
    ["/api/v1/countries/D3", "code"],
    ["/api/v1/countries/code3/DE", "code3"],
    ["/api/v1/languages/toolonglanguage", "code"],
    ["/api/v1/languages/iso639-1/eng", "iso639_1"],
    ["/api/v1/currencies?status=gone", "status"],
    ["/api/v1/currencies?is_cryptocurrency=yes", "is_cryptocurrency"],
    ["/api/v1/currencies?minor_unit=9", "minor_unit"],
    ["/api/v1/countries?continent=Mars", "continent"],
    ["/api/v1/languages?writing_direction=up", "writing_direction"],
    ["/api/v1/currencies?page_size=0", "page_size"],
    ["/api/v1/currencies?page=abc", "page"],
  ])("%s is a 400 naming %s", async (path, field) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body.success).toBe(false);
    expect(body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(body.errors[0].code).toBe("VALIDATION_ERROR");
  });
});

describe("HTTP caching", () => {
  it("sends ETag and Cache-Control, and answers If-None-Match with 304", async () => {
    const first = await get("/api/v1/countries/FR");
    const etag = first.res.headers.get("etag");
    expect(etag).toMatch(/^W\/"[0-9a-f]{32}"$/);
    expect(first.res.headers.get("cache-control")).toBe("private, max-age=300, must-revalidate");
    const again = await get("/api/v1/countries/FR", { "if-none-match": etag as string });
    expect(again.status).toBe(304);
    expect(again.res.headers.get("etag")).toBe(etag);
    const other = await get("/api/v1/countries/FR", { "if-none-match": 'W/"0000"' });
    expect(other.status).toBe(200);
  });

  it("gives different data different ETags, and the same data the same one", async () => {
    const a = (await get("/api/v1/currencies?page=1")).res.headers.get("etag");
    const b = (await get("/api/v1/currencies?page=2")).res.headers.get("etag");
    const a2 = (await get("/api/v1/currencies?page=1")).res.headers.get("etag");
    expect(a).not.toBe(b);
    expect(a).toBe(a2);
  });
});
