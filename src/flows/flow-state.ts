import type { Conn } from "../core/conn.ts";
import { RelayedConn } from "../core/relayed-conn.ts";
import type { SpliceProgress } from "../core/runtime.ts";
import { type FlowRecord, formatAddress } from "../log/flow-record.ts";
import type { Decision, UrlDecision } from "../policy/types.ts";
import type { Who } from "../policy/scope.ts";
import type { FlowContext } from "./context.ts";
import { ExchangeMeter } from "./exchange-meter.ts";
import type { FlowWatch, LiveRecord, WatchedFlow } from "./live-flows.ts";

/** The facts of one flow as they are learnt; `finish()` writes the canonical line once. */
export class FlowState implements WatchedFlow {
  readonly record: FlowRecord;
  /** The client's IP address (after a PROXY header, the one it names; see also `forwardedClient`). */
  #clientIp: string;
  #groups: readonly string[] = [];
  #started = Date.now();
  readonly #ctx: FlowContext;
  #written = false;
  #log = true;
  #revoked: string | undefined;
  /** A relay in progress: its live counts, and bytes sent down before it began. */
  #relay: { readonly progress: SpliceProgress; readonly downBefore: number } | undefined;
  /** The HTTP exchanges' live counts, for a flow that relays requests (see `meter()`). */
  #meter: ExchangeMeter | undefined;
  /** Set while the flow is open and the gateway rechecks its decision (see `live-flows.ts`). */
  watch: FlowWatch | undefined;
  /**
   * Why the flow may not go on after a reload or at a minute, beyond the policy (its
   * connection's client certificate refused or expired now), or undefined; see `WatchedFlow.recheck`.
   */
  recheck: (() => Promise<string | undefined>) | undefined;
  /**
   * How long the client took to send its ClientHello, in ms: the part of its handshake's
   * `headerTimeoutMs` already spent when the gateway completes the handshake (`acceptClientTls`).
   */
  helloMs = 0;

  constructor(ctx: FlowContext, client: Conn, mode: string) {
    this.#ctx = ctx;
    this.#clientIp = client.remote.address;
    this.record = {
      type: "flow",
      time: "",
      client: formatAddress(client.remote.address, client.remote.port),
      peer: client instanceof RelayedConn && client.peer !== client.remote ? formatAddress(client.peer.address, client.peer.port) : null,
      listener: ctx.listenerName,
      user: null,
      userAgent: null,
      mode,
      kind: "invalid",
      host: null,
      port: null,
      resolved: null,
      dnsSource: null,
      parent: null,
      decision: null,
      rule: null,
      reason: null,
      decryption: null,
      ech: null,
      alpn: null,
      status: null,
      bytesUp: 0,
      bytesDown: 0,
      requests: 0,
      durationMs: 0,
      headerMs: null,
      end: null,
      error: null,
    };
  }

  /** The signed-in user (also in the record) and their groups, lower case. */
  signedIn(user: string, groups: readonly string[]): void {
    this.record.user = user;
    this.#groups = groups;
  }

  /** Who the flow is for, as policy queries take it: nothing without a signed-in user. */
  who(): Who {
    const user = this.record.user;
    return user === null ? {} : { user, groups: this.#groups };
  }

  /** The client's IP address: the connection's peer, or the one a PROXY header or a trusted child proxy named. */
  get clientIp(): string {
    return this.#clientIp;
  }

  /**
   * A child proxy the listener trusts (`trustForwardedFrom`) named `ip` as its client: the
   * flow is decided and logged for it, with the child as `peer`. The client's port is not
   * known: the line says 0.
   */
  forwardedClient(ip: string, child: Conn): void {
    this.#clientIp = ip;
    this.record.client = formatAddress(ip, 0);
    this.record.peer = formatAddress(child.remote.address, child.remote.port);
  }

  /**
   * The flow's request head arrived now: a later request of a keep-alive connection (one
   * flow line each) counts its duration from here, not from the end of the one before.
   */
  requestArrived(): void {
    this.#started = Date.now();
  }

  decided(d: Decision): void {
    this.#log = d.log;
    this.record.decision = d.action;
    this.record.rule = d.ruleId;
    this.record.reason = d.reason;
    this.record.decryption = d.action === "allow" ? d.decryption : null;
    // the route the policy chose, logged whether or not the parent could be reached
    this.record.parent = d.parent ?? null;
  }

  /**
   * A url rule decided this (plain-HTTP) request: it is the deciding rule of the line, and
   * says whether to log it. The default url verdict changes nothing.
   */
  urlDecided(u: UrlDecision): void {
    if (u.ruleId === "default") return;
    this.#log = u.log;
    this.record.decision = u.action;
    this.record.rule = u.ruleId;
    this.record.reason = u.reason;
  }

  /**
   * The policy no longer allows this open flow (its connections are being closed): the line
   * ends `"revoked"` with `reason`, whatever ending the relay then sees.
   */
  revoke(reason: string): void {
    this.#revoked = reason;
  }

  /**
   * The flow relays blind from now on: the splice is to count into the progress returned
   * (client → upstream is A→B); `downBefore` bytes already went to the client (a parent's
   * early bytes). Open-flow views show those counts as they grow.
   */
  relaying(downBefore = 0): SpliceProgress {
    const progress = { bytesAtoB: 0, bytesBtoA: 0 };
    this.#relay = { progress, downBefore };
    return progress;
  }

  /**
   * The meter this flow's HTTP exchanges count into: open-flow views show its counts (the
   * requests that ended and the one in progress) instead of the record's.
   */
  meter(): ExchangeMeter {
    this.#meter ??= new ExchangeMeter();
    return this.#meter;
  }

  /** The record as it stands: the bytes so far, the duration so far, no end yet. */
  snapshot(): LiveRecord {
    const now = Date.now();
    const view = { ...this.record, time: new Date(now).toISOString(), since: new Date(this.#started).toISOString(), durationMs: now - this.#started };
    if (this.#relay) {
      view.bytesUp = this.#relay.progress.bytesAtoB;
      view.bytesDown = this.#relay.progress.bytesBtoA + this.#relay.downBefore;
    } else if (this.#meter) {
      const moved = this.#meter.read();
      view.bytesUp = moved.bytesUp;
      view.bytesDown = moved.bytesDown;
    }
    return view;
  }

  /**
   * Writes the flow line (once), unless the deciding rule turned logging off and nothing
   * went wrong: failures, revocations and undecided (invalid) requests are always logged.
   */
  finish(end: string | null, error?: string): void {
    this.watch?.end();
    if (this.#written) return;
    this.#written = true;
    if (this.#revoked !== undefined) {
      end = "revoked";
      error = this.#revoked;
    }
    this.#log = this.#log || error !== undefined;
    const r = this.record;
    r.end = end;
    if (error !== undefined) r.error = error;
    r.time = new Date().toISOString();
    r.durationMs = Date.now() - this.#started;
    this.#ctx.flowLog.write(r, !this.#log);
  }
}

/** Text of an unknown error for logs and client answers. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/**
 * How a client connection ended when reading from it failed (not malformed or slow input:
 * the connection itself), named as the splice names a side's failure.
 */
export function clientFailure(e: unknown): "client-reset" | "client-error" {
  const code = e instanceof Error && "code" in e ? e.code : undefined;
  return code === "ECONNRESET" || /reset/i.test(errorText(e)) ? "client-reset" : "client-error";
}
