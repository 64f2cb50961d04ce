/**
 * The local identity provider in its own process, for the authenticated bench target: the app
 * under test runs as in production (KEYCLOAK_URL set) and verifies this provider's tokens.
 * Tokens live an hour so none expires mid-run. Prints one line, `IDP {"url","clientSecret"}`,
 * once it listens.
 */
import { loadConfig } from "../src/config";
import { createLocalIdentity } from "../src/dev/local-identity";

let handler: ((request: Request) => Response | Promise<Response>) | undefined;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: (request) => handler?.(request) ?? new Response("starting", { status: 503 }),
});
// The provider's own settings (realm, client id, audience): the defaults the app also uses.
const config = loadConfig({ ENVIRONMENT: "development" });
const local = await createLocalIdentity(config, {
  baseUrl: `http://127.0.0.1:${server.port}`,
  accessTokenLifespanSeconds: 3600,
});
handler = (request) => local.idp.app.fetch(request);
console.log(`IDP ${JSON.stringify({ url: local.url, clientSecret: local.clientSecret })}`);
