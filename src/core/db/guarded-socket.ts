import { lookup as dnsLookup } from "node:dns/promises";
import { connect, type Socket } from "node:net";
import { type HostRefusal, refusedAddress } from "./host-policy";
import type { SocketFactory } from "./regional-router";

/** A resolver (injectable for tests): every address a name has, as getaddrinfo gives them. */
export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

export class ForbiddenHostError extends Error {
  override readonly name = "ForbiddenHostError";
}

/**
 * A postgres.js `socket` factory for Bun (and Node) that checks where a connection really goes:
 * the host is resolved on every connect, every address it resolves to is checked against the
 * host policy (one forbidden address refuses the name: DNS answers can rotate), and the socket
 * connects to the checked address itself, so a second lookup cannot rebind it. The socket keeps
 * the name as `host` so TLS still sends it as SNI and verifies it (`verify-full`).
 */
export function guardedSocket(options: {
  host: string;
  port: number;
  timeoutMs: number;
  lookup?: Lookup;
  /** The policy (tests replace it to see the socket connect on this machine). */
  refused?: (address: string) => HostRefusal;
}): () => Promise<Socket> {
  const { host, port, timeoutMs } = options;
  const lookup = options.lookup ?? systemLookup;
  const refused = options.refused ?? refusedAddress;
  return async () => {
    const addresses = await lookup(host);
    if (addresses.length === 0) throw new ForbiddenHostError(`${host} does not resolve`);
    for (const { address } of addresses) {
      const why = refused(address);
      if (why) {
        throw new ForbiddenHostError(
          `${host} resolves to ${address} (${why}): refused while ALLOW_PRIVATE_DATABASE_HOSTS is off`,
        );
      }
    }
    const target = addresses[0]?.address as string;
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: target, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const failed = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once("error", failed);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeListener("error", failed);
        resolve(Object.assign(socket, { host }));
      });
    });
  };
}

/**
 * The `socketFor` of Bun's pools: the host-checking socket unless private hosts are allowed.
 * `exempt` lists `host:port` endpoints this process serves itself (the embedded regional
 * databases), which are reached however the policy is set: no row can name them into existence.
 */
export function socketPolicy(
  allowPrivateHosts: boolean,
  exempt: ReadonlySet<string> = new Set(),
):
  | ((settings: { host: string; port: number }, timeoutMs: number) => SocketFactory | undefined)
  | undefined {
  if (allowPrivateHosts) return undefined;
  return (settings, timeoutMs) =>
    exempt.has(`${settings.host}:${settings.port}`)
      ? undefined
      : guardedSocket({ host: settings.host, port: settings.port, timeoutMs });
}
