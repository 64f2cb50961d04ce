import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../deps";
import { validationHook } from "./validation";

/** Every feature router is built here, so all share the same validation hook and envelope. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

export type Router = ReturnType<typeof createRouter>;
