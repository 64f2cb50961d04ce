import { expect } from "vitest";

/** The response envelope, as a client sees it. */
export interface Envelope<T = unknown> {
  success: boolean;
  data: T;
  message: string | null;
  errors: { code: string; message: string; field?: string; location?: string }[] | null;
  metadata: { timestamp: string; request_id: string; new_session_token?: string };
}

export async function getJson<T = unknown>(base: string, path: string, init: RequestInit = {}) {
  const response = await fetch(`${base}${path}`, init);
  const body = (await response.json()) as Envelope<T>;
  return { response, body };
}

export function expectErrorEnvelope(body: Envelope, code: string) {
  expect(body).toMatchObject({ success: false, data: null, metadata: expect.any(Object) });
  expect(body.message).toEqual(expect.any(String));
  expect(body.errors?.[0]?.code).toBe(code);
  expect(Date.parse(body.metadata.timestamp)).not.toBeNaN();
  expect(body.metadata.request_id).toEqual(expect.any(String));
}
