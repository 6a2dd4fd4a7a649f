/**
 * The OpenAPI 3.1 description of the admin API, served at `GET /openapi.json`. Kept small:
 * paths, methods, parameters, status codes and the main body shapes.
 *
 * @module
 */

type Json = Record<string, unknown>;

const error: Json = { $ref: "#/components/schemas/Error" };
const json = (schema: Json): Json => ({ content: { "application/json": { schema } } });
const answer = (description: string, schema: Json = { type: "object" }): Json => ({ description, ...json(schema) });
const text = (description: string, type: string): Json => ({ description, content: { [type]: { schema: { type: "string" } } } });
const errors = (...codes: number[]): Json =>
  Object.fromEntries(codes.map((code) => [String(code), answer(ERROR_TEXT[code] ?? "Error", error)]));

const ERROR_TEXT: Record<number, string> = {
  400: "Invalid request (JSON error, issues when the policy is invalid)",
  401: "Missing or wrong bearer token",
  404: "Not available",
  413: "Request body too large",
  504: "A worker process did not answer in time",
};

/** Query parameters narrowing `GET /flows` and `/flows/stream` (see flow-filter.ts); all must match. */
const FLOW_FILTERS: Json[] = [
  { name: "type", in: "query", schema: { enum: ["flow", "request"] } },
  { name: "decision", in: "query", schema: { enum: ["allow", "deny", "none"] } },
  { name: "user", in: "query", schema: { type: "string" }, description: "Proxy user, exactly" },
  { name: "listener", in: "query", schema: { type: "string" } },
  { name: "mode", in: "query", schema: { type: "string" } },
  { name: "rule", in: "query", schema: { type: "string" }, description: "Rule id, exactly" },
  { name: "host", in: "query", schema: { type: "string" }, description: "Host pattern as in rules: a.example, *.example, .example, an IP or a CIDR" },
  { name: "client", in: "query", schema: { type: "string" }, description: "Client IP address or CIDR" },
  { name: "status", in: "query", schema: { type: "string", pattern: "^[1-5](\\d\\d|xx)$" }, description: "A status (403) or a class (5xx)" },
  { name: "parent", in: "query", schema: { type: "string" }, description: "Parent proxy name of flow lines, or direct" },
  { name: "requestId", in: "query", schema: { type: "string" }, description: "A request line's X-Request-Id (reverse proxy), exactly" },
  { name: "backend", in: "query", schema: { type: "string" }, description: "A request line's backend (reverse proxy, scheme://host:port), exactly" },
  { name: "minDurationMs", in: "query", schema: { type: "integer", minimum: 0 }, description: "Records whose durationMs is at least this (slow requests, long connections)" },
];

const policyBody: Json = { required: true, ...json({ $ref: "#/components/schemas/Policy" }) };

/**
 * The OpenAPI document. `version` is the gateway's version.
 *
 * @example
 * ```ts
 * Object.keys(openApiDocument("0.1.0").paths); // ["/healthz", "/readyz", …]
 * ```
 */
export function openApiDocument(version: string): Json {
  return {
    openapi: "3.1.0",
    info: {
      title: "Tollgate admin API",
      version,
      description: "Management plane of the Tollgate gateway. Every path except /healthz and /ui needs `Authorization: Bearer <token>` when a token is configured.",
    },
    security: [{ bearer: [] }],
    paths: {
      "/healthz": { get: { summary: "Process is alive", security: [], responses: { 200: answer("Alive") } } },
      "/readyz": {
        get: {
          summary: "Readiness: listeners bound, config loaded, CA loaded when decryption is configured; last reload",
          responses: { 200: answer("Ready"), 503: answer("Not ready (details in the body)"), ...errors(401) },
        },
      },
      "/metrics": { get: { summary: "Prometheus text exposition", responses: { 200: text("Metrics", "text/plain"), ...errors(401) } } },
      "/config": { get: { summary: "The running config, redacted (no keys, tokens or hashes)", responses: { 200: answer("Config"), ...errors(401) } } },
      "/policy": {
        get: { summary: "The current policy section", responses: { 200: answer("Policy", { $ref: "#/components/schemas/Policy" }), ...errors(401) } },
        put: {
          summary: "Validate and atomically replace the policy (open connections it now denies, decides for the other decryption or sends another way are closed, unless recheckOpenConnections is false)",
          requestBody: policyBody,
          responses: {
            200: answer("Replaced", { type: "object", properties: { ok: { const: true }, generation: { type: "integer" } } }),
            ...errors(400, 401, 413),
          },
        },
      },
      "/policy/validate": {
        post: {
          summary: "Validate a policy without applying it",
          requestBody: policyBody,
          responses: {
            200: answer("Valid", { type: "object", properties: { valid: { const: true }, issues: { type: "array", maxItems: 0 } } }),
            ...errors(400, 401, 413),
          },
        },
      },
      "/policy/explain": {
        post: {
          summary: "Decision for a hypothetical connection, with every rule considered",
          requestBody: { required: true, ...json({ $ref: "#/components/schemas/ExplainQuery" }) },
          responses: { 200: answer("Explanation", { $ref: "#/components/schemas/ExplainResult" }), ...errors(400, 401, 413) },
        },
      },
      "/flows": {
        get: {
          summary: "Recent flow and request records (oldest first)",
          parameters: [{ name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } }, ...FLOW_FILTERS],
          responses: { 200: answer("Records", { type: "object", properties: { flows: { type: "array", items: { type: "object" } } } }), ...errors(400, 401) },
        },
      },
      "/flows/stream": {
        get: {
          summary: "Server-Sent Events: `flow` events (one record each) as flows end, `dropped` events when the client fell behind",
          parameters: [{ name: "replay", in: "query", schema: { type: "integer", minimum: 0, maximum: 1000, default: 0 } }, ...FLOW_FILTERS],
          responses: { 200: text("Event stream", "text/event-stream"), ...errors(400, 401) },
        },
      },
      "/connections": {
        get: {
          summary:
            "Open connections of every gateway process: CONNECT and SOCKS5 tunnels, decrypted sessions, transparent connections and plain-HTTP requests in progress, once allowed, and reverse-proxy connections once served; each with its record so far (bytes moved, durationMs so far, since = when it began)",
          parameters: [
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 10_000, default: 1000 } },
            { name: "sort", in: "query", schema: { enum: ["age", "bytes"], default: "age" }, description: "age: the longest open first; bytes: the most bytes moved first" },
            ...FLOW_FILTERS,
          ],
          responses: {
            200: answer("Open connections", {
              type: "object",
              properties: {
                connections: { type: "array", items: { type: "object", description: "A flow record so far, with id and since" } },
                total: { type: "integer", description: "How many matched, beyond limit too" },
                unanswered: { type: "array", items: { type: "integer" }, description: "Worker processes that did not answer in time: their connections are missing" },
              },
            }),
            ...errors(400, 401),
          },
        },
        delete: {
          summary:
            "Closes every open connection the filters select, in every gateway process (at least one filter is required; minDurationMs=0 selects all); their flow lines end revoked, naming this request",
          parameters: [
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 10_000, default: 10_000 }, description: "Close at most this many, the longest open first" },
            ...FLOW_FILTERS,
          ],
          responses: {
            200: answer("Closed", {
              type: "object",
              properties: {
                closed: { type: "array", items: { type: "string" }, description: "Ids of the connections closed" },
                ended: { type: "integer", description: "Matching connections that ended by themselves before they could be closed" },
                remaining: { type: "integer", description: "Matching connections beyond limit, still open" },
                unanswered: { type: "array", items: { type: "integer" }, description: "Worker processes that did not answer: their connections may still be open" },
              },
            }),
            ...errors(400, 401),
          },
        },
      },
      "/connections/{id}": {
        delete: {
          summary: "Closes an open connection (client and upstream); its flow line ends revoked, naming this request",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", pattern: "^\\d{1,4}-\\d{1,15}$" } }],
          responses: { 200: answer("Closed", { type: "object", properties: { closed: { const: true }, id: { type: "string" } } }), ...errors(400, 401, 404, 504) },
        },
      },
      "/backends": {
        get: {
          summary: "The reverse proxy's pools: each backend's health-check verdict, passive ejection and last error, and idle connections (this process's view)",
          responses: {
            200: answer("Pools", { type: "object", properties: { pools: { type: "array", items: { $ref: "#/components/schemas/PoolReport" } } } }),
            ...errors(401),
          },
        },
      },
      "/parents": {
        get: {
          summary: "The parent proxies: whether each is in service or passed over for its fallback after it could not be reached, until when, and why (this process's view)",
          responses: {
            200: answer("Parents", { type: "object", properties: { parents: { type: "array", items: { $ref: "#/components/schemas/ParentReport" } } } }),
            ...errors(401),
          },
        },
      },
      "/ca.pem": { get: { summary: "The interception CA certificate (public part)", responses: { 200: text("PEM", "application/x-pem-file"), ...errors(401, 404) } } },
      "/ca": { get: { summary: "How to trust the interception CA (HTML)", responses: { 200: text("Page", "text/html"), ...errors(401), 404: text("Page saying no CA is configured", "text/html") } } },
      "/pki/rotate-leaf-key": {
        post: {
          summary: "Replaces the shared leaf key now: cached leaf certificates are dropped and minted again with the new key",
          responses: { 200: answer("Rotated", { type: "object", properties: { rotated: { const: true } } }), ...errors(401, 404) },
        },
      },
      "/proxy.pac": {
        get: { summary: "Proxy auto-config: bypass hosts DIRECT, the rest through the proxy", responses: { 200: text("PAC", "application/x-ns-proxy-autoconfig"), ...errors(401, 404) } },
      },
      "/openapi.json": { get: { summary: "This document", responses: { 200: answer("OpenAPI 3.1") } } },
      "/": { get: { summary: "Redirects to the dashboard", security: [], responses: { 302: { description: "To /ui" } } } },
      "/ui": { get: { summary: "Live dashboard (HTML; asks for the token)", security: [], responses: { 200: text("Page", "text/html") } } },
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        ParentReport: {
          type: "object",
          properties: {
            name: { type: "string" },
            address: { type: "string", description: "host:port" },
            fallback: { type: ["string", "null"] },
            credentials: { type: "boolean", description: "Proxy-Authorization is sent to it" },
            inService: { type: "boolean", description: "takes flows now" },
            downUntil: { type: ["string", "null"], format: "date-time", description: "when it is tried again, while passed over" },
            lastError: { type: ["string", "null"] },
          },
        },
        PoolReport: {
          type: "object",
          properties: {
            name: { type: "string" },
            healthChecks: { type: "boolean" },
            idleConnections: { type: "integer" },
            reusedConnections: { type: "integer" },
            backends: { type: "array", items: { $ref: "#/components/schemas/BackendReport" } },
          },
        },
        BackendReport: {
          type: "object",
          properties: {
            url: { type: "string" },
            available: { type: "boolean", description: "takes requests now: healthy and not ejected" },
            healthy: { type: "boolean" },
            ejectedUntil: { type: ["string", "null"], format: "date-time" },
            consecutiveFailures: { type: "integer" },
            lastError: { type: ["string", "null"] },
            inFlight: { type: "integer", description: "requests under way to it" },
          },
        },
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: { type: "string" },
            issues: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
          },
        },
        Policy: {
          type: "object",
          description: "The `policy` section of the config file (see `tollgate config schema`)",
          properties: {
            defaultAction: { enum: ["allow", "deny"] },
            defaultLog: { type: "boolean" },
            hostLists: { type: "object", description: "Host list files by name; paths relative to the config file's directory" },
            rules: { type: "array" },
            urlRules: { type: "array" },
          },
        },
        ExplainQuery: {
          type: "object",
          additionalProperties: false,
          properties: {
            url: { type: "string", examples: ["https://example.com/path"] },
            host: { type: "string" },
            port: { type: "integer", minimum: 1, maximum: 65535 },
            clientIp: { type: "string", default: "127.0.0.1" },
            method: { type: "string", default: "GET" },
            mode: { enum: ["explicit", "socks5", "transparent", "transparent-http", "reverse"], description: "Default: the listener's mode, else explicit (a mode the listener cannot carry is a 400)" },
            listener: { type: "string" },
            user: { type: "string", description: "An authenticated proxy user (default: none)" },
            groups: { type: "array", items: { type: "string" }, description: "The user's groups (needs user; default: a local user's configured groups)" },
            at: { type: "string", format: "date-time", description: "When, for rules with a schedule (default: now)" },
            responseType: { type: "string", examples: ["video/mp4"], description: "The response's Content-Type, for url rules with responseTypes (default: not known yet)" },
            headers: { type: "array", maxItems: 100, items: { type: "string" }, examples: [["X-HTTP-Method-Override: DELETE"]], description: "Request fields as \"Name: value\": the methods and paths override fields name are judged by url rules as the gateway judges them (default: none)" },
          },
        },
        ExplainResult: {
          type: "object",
          properties: {
            host: { type: "string" },
            port: { type: "integer" },
            decision: {
              type: "object",
              properties: { action: { enum: ["allow", "deny"] }, ruleId: { type: "string" }, reason: { type: "string" }, decryption: { type: "string" }, parent: { type: "string", description: "Parent proxy of an allowed flow; absent = direct" } },
            },
            rules: {
              type: "array",
              items: { type: "object", properties: { index: { type: "integer" }, ruleId: { type: "string" }, matched: { type: "boolean" }, reason: { type: "string" } } },
            },
            url: {
              type: "object",
              properties: {
                action: { enum: ["allow", "deny"] },
                ruleId: { type: "string" },
                reason: { type: "string" },
                byResponse: {
                  type: "array",
                  description: "Without responseType: url rules with responseTypes that matched the request ahead of the deciding one (the first whose types match the response decides it)",
                  items: { type: "object", properties: { ruleId: { type: "string" }, action: { enum: ["allow", "deny"] }, types: { type: "array", items: { type: "string" } } } },
                },
                maxRequestBytes: { type: "integer", description: "The deciding allow rule's limit on request bodies (bytes)" },
                maxResponseBytes: { type: "integer", description: "The deciding allow rule's limit on response bodies (bytes)" },
              },
            },
            clientIp: { type: "string" },
            mode: { type: "string" },
            listener: { type: "string" },
            user: { type: "string" },
            groups: { type: "array", items: { type: "string" }, description: "The user's groups evaluated, lower case" },
          },
        },
      },
    },
  };
}
