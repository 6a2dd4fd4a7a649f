/**
 * The admin API (hono): health, readiness, metrics, config and policy, explain, flows (JSON
 * and Server-Sent Events), open connections (listed, closed), the CA certificate and its
 * trust page, the PAC file, an OpenAPI description and the dashboard. It only reads and calls an {@linkcode AdminState}, so the
 * gateway serves it on any runtime's HTTP server and tests call `app.request()`.
 *
 * Access: with a token, every path except `/healthz` and `/ui` (a page without data that
 * asks for the token) needs `Authorization: Bearer <token>`. Without a token (allowed on
 * loopback only, the gateway's rule), requests must name the listener by IP address or
 * `localhost` in their Host header, which keeps DNS-rebinding web pages out.
 *
 * @module
 */
import { Hono } from "hono";
import pkg from "../../package.json" with { type: "json" };
import { PROMETHEUS_CONTENT_TYPE } from "../metrics/registry.ts";
import { bearerAuth, crossSiteGuard, hostGuard } from "./auth.ts";
import { caPage } from "./ca-page.ts";
import { parseExplainBody } from "./explain.ts";
import { SSE_HEADERS, sseStream } from "./flow-feed.ts";
import { type FlowFilter, type FlowFilterParam, parseFlowFilter } from "./flow-filter.ts";
import { cspNonce, htmlResponse } from "./html.ts";
import { DEFAULT_MAX_BODY_BYTES, HttpError, jsonError, jsonResponse, readJsonBody } from "./http.ts";
import { openApiDocument } from "./openapi.ts";
import { closeMatching, unfiltered } from "./close-matching.ts";
import { parseConnectionQuery, processOf } from "./open-connections.ts";
import { PAC_CONTENT_TYPE, pacScript } from "./pac.ts";
import type { AdminState } from "./state.ts";
import { dashboardPage } from "./ui-page.ts";

/** Options of {@linkcode createAdminApp}. */
export interface AdminAppOptions {
  /** Bearer token every endpoint but `/healthz` and `/ui` requires. Absent: no authentication. */
  readonly token?: string | undefined;
  /** Largest request body, in bytes (413 beyond). Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Without a token: Host names accepted besides IP addresses and `localhost`. */
  readonly allowedHosts?: readonly string[];
  /**
   * Serve `/ca`, `/ca.pem` and `/proxy.pac` without the token: they are meant for every
   * proxy client, and browsers fetch PAC files without credentials. Default false.
   */
  readonly openBootstrap?: boolean;
  /** Interval of SSE keepalive comments, in ms. Default 15000. */
  readonly keepaliveMs?: number;
  /** Version shown in the OpenAPI document. Default the package version. */
  readonly version?: string;
}

/** Most records `GET /flows` returns, and most `GET /flows/stream?replay=` replays. */
export const MAX_FLOWS_LIMIT = 1000;
/**
 * Most `GET /flows/stream` streams open at once (dashboards, `curl -N`): each is handed every
 * finished flow, so without a bound a token holder's stray loop would make every flow cost
 * more. Beyond it the answer is `503` with `Retry-After`.
 */
export const MAX_LIVE_STREAMS = 64;
/** Records `GET /flows` returns without `limit`. */
export const DEFAULT_FLOWS_LIMIT = 100;

/** Paths served without a token. */
const OPEN_PATHS = ["/", "/healthz", "/ui"];
const BOOTSTRAP_PATHS = ["/ca", "/ca.pem", "/proxy.pac"];

/** The filter of the flow query parameters; a bad value is a 400. */
function flowFilter(param: (name: FlowFilterParam) => string | undefined): FlowFilter | undefined {
  try {
    return parseFlowFilter(param);
  } catch (e) {
    throw new HttpError(400, (e as Error).message);
  }
}

/** Parses an integer query parameter in `min..max`; `fallback` when absent. */
function intParam(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new HttpError(400, `query parameter "${name}" must be an integer ${min}-${max}, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Builds the admin app on `state`.
 *
 * @throws {TypeError} when `options.token` is the empty string
 *
 * @example
 * ```ts
 * const app = createAdminApp(state, { token: "a-long-random-admin-token" });
 * await runtime.serveHttp({ hostname: "127.0.0.1", port: 9090 }, app.fetch);
 * const res = await app.request("/readyz", { headers: { authorization: "Bearer …" } });
 * ```
 */
export function createAdminApp(state: AdminState, options: AdminAppOptions = {}): Hono {
  const { token } = options;
  if (token === "") throw new TypeError("Admin token must not be empty (leave it unset to disable authentication)");
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const app = new Hono();

  app.onError((error) => {
    if (error instanceof HttpError) return jsonError(error.status, error.message);
    return jsonError(500, `internal error: ${error.message}`);
  });
  app.notFound((c) => jsonError(404, `no such endpoint: ${c.req.method} ${c.req.path}`));

  // hono answers HEAD with what GET answers, dropping the body without cancelling it: a stream
  // (the live flow feed) would stay subscribed, with its timer, for good. Cancelled here.
  app.use("*", async (c, next) => {
    await next();
    if (c.req.method === "HEAD") await c.res.body?.cancel().catch(() => {});
  });
  app.use("*", crossSiteGuard());
  if (token === undefined) {
    const guard = hostGuard(options.allowedHosts ?? []);
    app.use("*", async (c, next) => (c.req.path === "/healthz" ? await next() : await guard(c, next)));
  } else {
    app.use("*", bearerAuth(token, new Set([...OPEN_PATHS, ...(options.openBootstrap ? BOOTSTRAP_PATHS : [])])));
  }

  app.get("/healthz", () => {
    const uptime = (Date.now() - state.startedAt.getTime()) / 1000;
    return jsonResponse(200, { status: "ok", startedAt: state.startedAt.toISOString(), uptimeSeconds: Math.round(uptime) });
  });

  app.get("/readyz", () => {
    const readiness = state.readiness();
    return jsonResponse(readiness.ready ? 200 : 503, readiness);
  });

  app.get("/metrics", () =>
    new Response(state.metricsText(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" } }));

  app.get("/config", () => jsonResponse(200, state.redactedConfig()));

  app.get("/policy", () => jsonResponse(200, state.policyJson()));

  app.put("/policy", async (c) => {
    const body = await readJsonBody(c.req.raw, maxBody);
    const result = await state.replacePolicy(body);
    if (!result.ok) return jsonError(400, "invalid policy", {}, result.issues);
    return jsonResponse(200, { ok: true, generation: result.generation });
  });

  app.post("/policy/validate", async (c) => {
    const body = await readJsonBody(c.req.raw, maxBody);
    const issues = state.validatePolicy(body);
    if (issues.length > 0) return jsonResponse(400, { valid: false, error: "invalid policy", issues });
    return jsonResponse(200, { valid: true, issues: [] });
  });

  app.post("/policy/explain", async (c) => {
    const body = await readJsonBody(c.req.raw, maxBody);
    try {
      return jsonResponse(200, state.explain(parseExplainBody(body)));
    } catch (e) {
      if (e instanceof TypeError || e instanceof RangeError) throw new HttpError(400, e.message);
      throw e;
    }
  });

  app.get("/flows", (c) => {
    const limit = intParam(c.req.query("limit"), "limit", 1, MAX_FLOWS_LIMIT, DEFAULT_FLOWS_LIMIT);
    const filter = flowFilter((name) => c.req.query(name));
    return jsonResponse(200, { flows: state.flows.recent(limit, filter), stats: state.flows.stats() });
  });

  app.get("/flows/stream", (c) => {
    const replay = intParam(c.req.query("replay"), "replay", 0, MAX_FLOWS_LIMIT, 0);
    const filter = flowFilter((name) => c.req.query(name));
    if (c.req.method !== "HEAD" && state.flows.stats().subscribers >= MAX_LIVE_STREAMS) {
      return jsonError(503, `${MAX_LIVE_STREAMS} live flow streams are open already; close one (or retry later)`, { "retry-after": "5" });
    }
    const body = sseStream(state.flows, c.req.raw.signal, { replay, filter, ...(options.keepaliveMs ? { keepaliveMs: options.keepaliveMs } : {}) });
    return new Response(body, { headers: { ...SSE_HEADERS, "x-accel-buffering": "no" } });
  });

  /** The connections a request's query parameters select; a bad one is a 400 naming it. */
  const connectionQuery = (param: (name: string) => string | undefined) => {
    try {
      return parseConnectionQuery(param);
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
  };

  app.get("/connections", async (c) => jsonResponse(200, await state.connections(connectionQuery((name) => c.req.query(name)))));

  app.delete("/connections", async (c) => {
    const query = connectionQuery((name) => c.req.query(name));
    const why = unfiltered(query);
    if (why !== undefined) throw new HttpError(400, why);
    return jsonResponse(200, await closeMatching(state, query, c.req.query("limit") !== undefined));
  });

  app.delete("/connections/:id", async (c) => {
    const id = c.req.param("id");
    if (processOf(id) === undefined) throw new HttpError(400, `not a connection id: ${JSON.stringify(id.slice(0, 40))} (expected "<process>-<n>", as GET /connections lists them)`);
    const outcome = await state.closeConnection(id);
    if (outcome === "not-found") return jsonError(404, `no open connection ${id} (it may have ended)`);
    if (outcome === "no-answer") return jsonError(504, `the worker process running connection ${id} did not answer`);
    return jsonResponse(200, { closed: true, id });
  });

  app.post("/pki/rotate-leaf-key", async () => {
    const rotated = (await state.rotateLeafKey?.()) ?? false;
    if (!rotated) return jsonError(404, "no interception CA is configured");
    return jsonResponse(200, { rotated: true });
  });

  app.get("/ca.pem", () => {
    const pem = state.caCertificatePem();
    if (pem === undefined) return jsonError(404, "no interception CA is configured");
    return new Response(pem.endsWith("\n") ? pem : pem + "\n", {
      headers: { "content-type": "application/x-pem-file", "content-disposition": 'attachment; filename="tollgate-ca.pem"', "cache-control": "no-cache", "x-content-type-options": "nosniff" },
    });
  });

  app.get("/ca", async (c) => {
    const pem = state.caCertificatePem();
    const nonce = cspNonce();
    const origin = new URL(c.req.url).origin;
    const html = await caPage({ pem, origin, tokenRequired: token !== undefined && !options.openBootstrap, nonce });
    return htmlResponse(pem === undefined ? 404 : 200, html, nonce);
  });

  app.get("/proxy.pac", (c) => {
    const data = state.pac(new URL(c.req.url).hostname);
    if (data.proxy === undefined) return jsonError(404, "no explicit proxy listener to point clients at");
    // nosniff: PAC fetchers ignore it; browsers then refuse to run the file as another page's
    // <script> (which would read the bypass list off an admin without a token)
    return new Response(pacScript(data), { headers: { "content-type": PAC_CONTENT_TYPE, "cache-control": "no-cache", "x-content-type-options": "nosniff", vary: "host" } });
  });

  app.get("/backends", () => jsonResponse(200, { pools: state.backends() }));
  app.get("/parents", () => jsonResponse(200, { parents: state.parents() }));

  app.get("/openapi.json", () => jsonResponse(200, openApiDocument(options.version ?? pkg.version)));

  app.get("/ui", () => {
    const nonce = cspNonce();
    return htmlResponse(200, dashboardPage(nonce), nonce);
  });
  app.get("/", (c) => c.redirect("/ui", 302));

  return app;
}
