import type { Config } from "../config/config.ts";
import { type BasicCredentials, createBasicCredentials, createProxyAuth, type ProxyAuth } from "./proxy-auth.ts";

/** The gateway's users: proxy authentication and reverse routes' `basicAuth` share one cache. */
export interface GatewayUsers {
  readonly credentials: BasicCredentials;
  readonly proxyAuth: ProxyAuth;
}

/** The users of `config.proxyAuth`, ready to check (undefined without a `proxyAuth`). */
export function gatewayUsers(config: Pick<Config, "proxyAuth">): GatewayUsers | undefined {
  if (!config.proxyAuth) return undefined;
  const credentials = createBasicCredentials(config.proxyAuth.users, config.proxyAuth.signInLimit);
  return { credentials, proxyAuth: createProxyAuth(config.proxyAuth, credentials) };
}
