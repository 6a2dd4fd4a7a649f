import { ConfigError } from "../config/errors.ts";
import { parseConfig } from "../config/parse.ts";
import type { Config } from "../config/config.ts";
import type { Gateway, ReloadResult } from "../gateway.ts";
import type { ParentReport } from "../parent/report.ts";
import type { PoolReport } from "../reverse/report.ts";
import { mergeExpositions } from "../metrics/merge.ts";
import { explainQuery } from "./explain.ts";
import { HOST_LIST_METRIC_NAMES } from "../metrics/host-list-metrics.ts";
import { type ConnectionQuery, mergeOpen, type OpenSelection, processOf, selectOpen } from "./open-connections.ts";
import type { AdminState, CloseOutcome, ConnectionList, ExplainQuery, ExplainResult, PacData, PolicyIssue, Readiness } from "./state.ts";

/**
 * The other gateway processes (workers sharing the listeners), as the primary's admin API
 * reaches them: config changes and key rotation go to them too, their metrics are merged in.
 */
export interface Peers {
  /** Hands a validated config (as written) to every worker, with the ports of the primary's listeners. */
  config(raw: unknown, ports: Readonly<Record<string, number>>): void;
  rotateLeafKey(): void;
  /** Each running worker's latest metrics exposition. */
  metricsTexts(): readonly string[];
  /** Each serving worker's open connections for `query`: undefined for one that did not answer in time. */
  connections(query: ConnectionQuery): Promise<readonly { readonly index: number; readonly selection: OpenSelection | undefined }[]>;
  /**
   * Asks worker `index`, in one message, to close its open flows `ids`: the ids it had (now
   * closed); undefined when it did not answer in time (or does not serve).
   */
  closeConnections(index: number, ids: readonly string[], reason: string): Promise<readonly string[] | undefined>;
  /** Workers configured and those serving now. */
  status(): { readonly total: number; readonly ready: number; readonly pids: readonly (number | undefined)[] };
}

/** Families that describe one process: the primary's value stands for the gateway. */
const PRIMARY_ONLY = new Set([
  "tollgate_process_start_time_seconds",
  "tollgate_config_generation",
  "tollgate_config_last_reload_success",
  "tollgate_config_last_reload_timestamp_seconds",
  "tollgate_certificate_not_after_timestamp_seconds", // every process serves the same files: a sum would mean nothing
  "tollgate_client_crl_next_update_timestamp_seconds", // the same CRL files in every process
  ...HOST_LIST_METRIC_NAMES, // every process reads the same lists
]);

/** 1-or-0 families of each process's own health state: 0 in any process is 0 for the gateway. */
const LOWEST = new Set(["tollgate_parent_up", "tollgate_backend_up"]);

/**
 * The running gateway as the admin API sees it. `raw` is the config as written (JSON value),
 * so a new policy is validated in the context of the real listeners and CA, with the very
 * same schema as the config file.
 */
export class GatewayAdminState implements AdminState {
  readonly startedAt = new Date();
  readonly #gateway: Gateway;
  readonly #peers: Peers | undefined;
  #raw: Record<string, unknown>;
  #ready = true;
  /** Config changes run one at a time: each builds on what the last one left in force. */
  #turn: Promise<unknown> = Promise.resolve();

  constructor(gateway: Gateway, raw: unknown, peers?: Peers) {
    this.#gateway = gateway;
    this.#peers = peers;
    this.#raw = isObject(raw) ? { ...raw } : {};
  }

  /** The config in force, as written (what a restarted worker is started with). */
  get rawConfig(): unknown {
    return this.#raw;
  }

  get flows() {
    return this.#gateway.live.feed;
  }

  /** Marks the gateway as draining (readyz fails so load balancers stop sending). */
  draining(): void {
    this.#ready = false;
  }

  /** Applies a whole new config (hot reload from file or SIGHUP); workers follow once the primary has. */
  reloadConfig(raw: unknown, config: Config): Promise<ReloadResult> {
    return this.#inTurn(() => this.#apply(raw, config));
  }

  /**
   * A whole reload attempt from the file, in its turn: `attempt` reads the file, applies what
   * it got with `apply` and, when that is refused, explains it and calls `reloadFailed`,
   * before any later reload or policy change begins: the status left is the latest
   * attempt's, however long an explanation takes.
   */
  reloadFromFile<T>(attempt: (apply: (raw: unknown, config: Config) => Promise<ReloadResult>) => Promise<T>): Promise<T> {
    return this.#inTurn(() => attempt((raw, config) => this.#apply(raw, config)));
  }

  async #apply(raw: unknown, config: Config): Promise<ReloadResult> {
    const r = await this.#gateway.reload(config);
    this.#raw = isObject(raw) ? { ...raw } : {};
    this.#peers?.config(this.#raw, this.ports());
    return r;
  }

  /**
   * Runs `change` after every change asked before it has finished. A new policy is put into
   * the config in force when its turn comes, not when it was asked: a `PUT /policy` that
   * arrives while a reload from the file is under way keeps what the file changed.
   */
  #inTurn<T>(change: () => Promise<T>): Promise<T> {
    const result = this.#turn.then(change);
    this.#turn = result.catch(() => {});
    return result;
  }

  /** The bound port of every listener, by name (workers bind the same). */
  ports(): Record<string, number> {
    return Object.fromEntries([...this.#gateway.addresses].map(([name, a]) => [name, a.port]));
  }

  /** Records a reload that failed validation: the old config stays in force. */
  reloadFailed(error: string): void {
    const live = this.#gateway.live;
    live.lastReload = { at: new Date().toISOString(), ok: false, error, generation: live.generation };
    live.metrics.configLastReloadSuccess.set(0);
    live.metrics.configLastReloadTimestamp.set(Date.now() / 1000);
  }

  readiness(): Readiness {
    const live = this.#gateway.live;
    const decrypts = live.config.policy.rules.some((r) => r.decryption === "decrypt");
    const checks: Record<string, { ok: boolean; detail?: string }> = {
      listeners: { ok: this.#gateway.addresses.size > 0, detail: [...this.#gateway.addresses.keys()].join(", ") },
      config: { ok: true, detail: `generation ${live.generation}` },
      ca: decrypts ? { ok: live.caCertPem !== undefined, detail: live.caCertPem ? "loaded" : "missing" } : { ok: true, detail: "not needed" },
      accepting: { ok: this.#ready, detail: this.#ready ? "yes" : "draining" },
    };
    if (this.#peers) {
      const w = this.#peers.status();
      checks["workers"] = { ok: w.ready === w.total, detail: `${w.ready} of ${w.total} serving (pids ${w.pids.map((p) => p ?? "-").join(", ")})` };
    }
    return {
      ready: Object.values(checks).every((c) => c.ok),
      checks,
      lastReload: live.lastReload,
    };
  }

  metricsText(): string {
    const own = this.#gateway.live.metrics.registry.expose();
    if (!this.#peers) return own;
    return mergeExpositions([own, ...this.#peers.metricsTexts()], { primaryOnly: PRIMARY_ONLY, lowest: LOWEST });
  }

  redactedConfig(): unknown {
    return redacted(structuredClone(this.#gateway.live.config));
  }

  policyJson(): unknown {
    // redacted as GET /config is: a URL rule's header edits may carry credentials
    return redacted(structuredClone(this.#raw["policy"] ?? this.#gateway.live.config.policy));
  }

  validatePolicy(policy: unknown): readonly PolicyIssue[] {
    try {
      const placeholders = redactedLeftIn(policy);
      if (placeholders.length > 0) return placeholders;
      return foreignHostLists(parseConfig({ ...this.#raw, policy }), this.#raw);
    } catch (e) {
      if (e instanceof ConfigError) return e.issues.map((i) => ({ path: i.path, message: i.message }));
      return [{ path: "policy", message: e instanceof Error ? e.message : String(e) }];
    }
  }

  replacePolicy(policy: unknown) {
    return this.#inTurn(() => this.#replacePolicy(policy));
  }

  async #replacePolicy(policy: unknown) {
    const placeholders = redactedLeftIn(policy);
    if (placeholders.length > 0) return { ok: false as const, issues: placeholders };
    let config: Config;
    const raw = { ...this.#raw, policy };
    try {
      config = parseConfig(raw);
    } catch (e) {
      const issues = e instanceof ConfigError ? e.issues.map((i) => ({ path: i.path, message: i.message })) : [{ path: "policy", message: String(e) }];
      return { ok: false as const, issues };
    }
    const foreign = foreignHostLists(config, this.#raw);
    if (foreign.length > 0) return { ok: false as const, issues: foreign };
    try {
      const { generation } = await this.#apply(raw, config);
      return { ok: true as const, generation };
    } catch (e) {
      // a file the config names (a parent's password, a certificate) could not be read: nothing changed
      return { ok: false as const, issues: [{ path: "", message: e instanceof Error ? e.message : String(e) }] };
    }
  }

  explain(query: ExplainQuery): ExplainResult {
    const live = this.#gateway.live;
    const users = live.config.proxyAuth?.users;
    return explainQuery({ policy: live.policy, urlPolicy: live.urlPolicy, listeners: live.config.listeners, ...(users ? { users } : {}) }, query);
  }

  async connections(query: ConnectionQuery): Promise<ConnectionList> {
    const own = selectOpen(this.#gateway.connections(), query);
    if (!this.#peers) return { ...own, unanswered: [] };
    const answers = await this.#peers.connections(query);
    const parts = [own, ...answers.flatMap((a) => (a.selection ? [a.selection] : []))];
    return { ...mergeOpen(parts, query), unanswered: answers.filter((a) => !a.selection).map((a) => a.index) };
  }

  async closeConnection(id: string, reason = `closed by an administrator (DELETE /connections/${id})`): Promise<CloseOutcome> {
    const [outcome] = await this.closeConnections([id], reason);
    return outcome!;
  }

  async closeConnections(ids: readonly string[], reason: string): Promise<readonly CloseOutcome[]> {
    const outcomes = ids.map((): CloseOutcome => "not-found");
    /** Positions in `ids` by the worker that runs them. */
    const byWorker = new Map<number, number[]>();
    ids.forEach((id, i) => {
      const owner = processOf(id);
      if (owner === 0) outcomes[i] = this.#gateway.closeConnection(id, reason) ? "closed" : "not-found";
      else if (owner !== undefined && this.#peers && owner <= this.#peers.status().total) {
        const at = byWorker.get(owner);
        if (at) at.push(i);
        else byWorker.set(owner, [i]);
      }
    });
    const peers = this.#peers;
    if (peers) {
      await Promise.all([...byWorker].map(async ([index, at]) => {
        const closed = await peers.closeConnections(index, at.map((i) => ids[i]!), reason);
        const had = new Set(closed);
        for (const i of at) outcomes[i] = closed === undefined ? "no-answer" : had.has(ids[i]!) ? "closed" : "not-found";
      }));
    }
    return outcomes;
  }

  async rotateLeafKey(): Promise<boolean> {
    const rotate = this.#gateway.live.rotateLeafKey;
    if (!rotate) return false;
    await rotate();
    this.#peers?.rotateLeafKey();
    return true;
  }

  caCertificatePem(): string | undefined {
    return this.#gateway.live.caCertPem;
  }

  backends(): readonly PoolReport[] {
    return this.#gateway.backends();
  }

  parents(): readonly ParentReport[] {
    return this.#gateway.parents();
  }

  pac(requestHost?: string): PacData {
    const live = this.#gateway.live;
    const admin = live.config.admin;
    const explicit = live.config.listeners.find((l) => l.mode === "explicit");
    const bound = explicit ? this.#gateway.addresses.get(explicit.name) : undefined;
    // a listener on every address (0.0.0.0, ::) is reached at the name the client reached us by
    const any = bound !== undefined && (bound.address === "0.0.0.0" || bound.address === "::");
    const host = !bound ? undefined : any ? requestHost : bound.address.includes(":") ? `[${bound.address}]` : bound.address;
    const proxy = admin?.pacProxy ?? (bound && host ? `${host}:${bound.port}` : undefined);
    return { proxy, bypass: admin?.pacBypass ?? [], ...(explicit?.mode === "explicit" && explicit.tls ? { tls: true } : {}) };
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** What {@link redacted} puts in place of a secret. */
const REDACTED = "[redacted]";

/** Fields shown as "[redacted]" wherever they are: the admin token, key files, password hashes. */
const SECRET_FIELDS = new Set(["token", "key", "keyFile", "clientKey", "passwordHash"]);
/**
 * Header fields a route sets or adds whose values are credentials (`Authorization: Bearer …`,
 * `Ocp-Apim-Subscription-Key`, `X-Auth-Key`, `X-API_KEY`): broad, since a shown secret is worse
 * than a hidden `Keep-Alive`.
 */
const SECRET_HEADERS = /auth|cookie|token|secret|passw|key|signature|credential|session/i;

/**
 * `value` (a copy of the config, parsed or as written) with secrets replaced, in place: the
 * {@link SECRET_FIELDS} anywhere, and the values of credential headers in `set`/`add` edits
 * (pairs, or an object as written).
 */
function redacted(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (const item of value) redacted(item);
    return value;
  }
  if (typeof value !== "object" || value === null) return value;
  const o = value as Record<string, unknown>;
  for (const [name, field] of Object.entries(o)) {
    if (SECRET_FIELDS.has(name) && (typeof field === "string" || typeof field === "number")) o[name] = REDACTED;
    else if ((name === "set" || name === "add") && Array.isArray(field)) {
      for (const pair of field) if (Array.isArray(pair) && typeof pair[0] === "string" && SECRET_HEADERS.test(pair[0])) pair[1] = REDACTED;
    } else if ((name === "set" || name === "add") && isObject(field)) {
      // as written in a config file or a PUT: {"Authorization": "Bearer …"}
      for (const header of Object.keys(field)) if (SECRET_HEADERS.test(header) && typeof field[header] === "string") field[header] = REDACTED;
    } else redacted(field);
  }
  return o;
}

/**
 * The host lists of `next`'s policy that the config in force does not name with the same
 * file: the admin API may use the lists the config file names, never make the gateway read
 * another file (whose first lines a parse error would show the caller).
 */
function foreignHostLists(next: Config, inForce: Readonly<Record<string, unknown>>): PolicyIssue[] {
  const policy = inForce["policy"];
  const lists = typeof policy === "object" && policy !== null ? (policy as { hostLists?: unknown }).hostLists : undefined;
  const known = (typeof lists === "object" && lists !== null ? lists : {}) as Readonly<Record<string, { readonly file?: unknown }>>;
  const names = Object.keys(known).map((n) => JSON.stringify(n)).join(", ") || "none";
  return Object.entries(next.policy.hostLists ?? {})
    .filter(([name, list]) => known[name]?.file !== list.file)
    .map(([name]) => ({
      path: `policy.hostLists.${name}.file`,
      message: `a host list's file is named in the config file only; the admin API may use the lists it names (${names}) as they are named there`,
    }));
}

/**
 * Where a policy sent back holds {@link REDACTED}: one read with GET /policy and put back
 * with PUT would otherwise send `Authorization: [redacted]` to the origin, where nothing
 * shows it.
 */
function redactedLeftIn(value: unknown, path = "policy"): PolicyIssue[] {
  if (value === REDACTED) return [{ path, message: `"${REDACTED}" stands for a secret GET /policy does not show: send the value itself` }];
  if (Array.isArray(value)) return value.flatMap((item, i) => redactedLeftIn(item, `${path}[${i}]`));
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([key, item]) => redactedLeftIn(item, `${path}.${key}`));
}
