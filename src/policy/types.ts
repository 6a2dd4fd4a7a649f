/**
 * Policy domain types. Rule definitions are plain data (serialisable); `compilePolicy`
 * turns them into a matcher. A decision always carries the rule id and a reason.
 */
import type { RequestOverrides } from "../protocol/request-overrides.ts";
import type { HeaderEditsConfig } from "../protocol/header-edits.ts";
import type { HostListFormat } from "./host-list.ts";
import type { ScheduleDefinition } from "./schedule.ts";

export type Action = "allow" | "deny";
export type Decryption = "exception" | "decrypt";
/**
 * How a decrypting rule validates the upstream server's certificate: `"verify"` (chain to a
 * trusted root and name match, the default) or `"insecure"` (no validation; for lab origins
 * with self-signed certificates). Only meaningful with `decryption: "decrypt"`.
 */
export type UpstreamTls = "verify" | "insecure";
/**
 * What a decrypting rule does with a TLS client whose ALPN offer names no protocol the
 * gateway inspects (only `h2`, say, as gRPC clients send): `"refuse"` it with a
 * `no_application_protocol` alert (the default: nothing passes uninspected unless a rule
 * says so), or `"tunnel"` it blind, as an exception would. Only meaningful with
 * `decryption: "decrypt"`.
 */
export type Uninspectable = "refuse" | "tunnel";

/**
 * The kind of flow a query comes from, as a rule's `modes` names it: an explicit proxy
 * (CONNECT / absolute-form), a transparent TLS listener (SNI), a transparent plain-HTTP
 * listener (Host header) or a reverse proxy.
 */
export type PolicyMode = "explicit" | "socks5" | "transparent" | "transparent-http" | "reverse";

/** A normalised destination host: a DNS name (lowercase, punycode, no trailing dot) or an IP literal. */
export type Host =
  | { readonly kind: "dns"; readonly name: string }
  | { readonly kind: "ipv4"; readonly address: string }
  | { readonly kind: "ipv6"; readonly address: string };

export interface RuleDefinition {
  readonly id: string;
  /** Host patterns: "example.com" (exact), "*.example.com" (strict subdomains), ".example.com" (domain + subdomains), "~^regex$" is not used here: regexes go in `hostRegex`. IP literals and CIDRs match IP destinations. Empty/absent = any host. */
  readonly hosts?: readonly string[];
  /** Anchored regular expressions matched against the normalised host name. */
  readonly hostRegex?: readonly string[];
  /**
   * Names of host lists (`PolicyDefinition.hostLists`, given to `compilePolicy` parsed): the
   * host condition also matches a host one of their patterns matches.
   */
  readonly hostLists?: readonly string[];
  /** Destination ports or inclusive ranges "8000-8100". Empty/absent = any port. */
  readonly ports?: readonly (number | string)[];
  /** Client source CIDRs ("10.0.0.0/8", "::1/128", or a bare IP). Empty/absent = any client. */
  readonly clients?: readonly string[];
  /** Listener names: the rule matches only queries whose `listener` is one of them. Empty/absent = any listener. */
  readonly listeners?: readonly string[];
  /** Flow modes: the rule matches only queries whose `mode` is one of them. Empty/absent = any mode. */
  readonly modes?: readonly PolicyMode[];
  /**
   * Authenticated proxy users (`proxyAuth`): the rule matches only queries whose `user` is
   * one of them, so never a flow without one (transparent, reverse). Empty/absent = anyone.
   */
  readonly users?: readonly string[];
  /**
   * Groups of authenticated users (local users' `groups`, a directory's `memberOf`), any
   * case: with `users`, one condition — a user named or a member of a group named.
   */
  readonly groups?: readonly string[];
  readonly action: Action;
  readonly log?: boolean;
  readonly decryption?: Decryption;
  /** Default `"verify"`. */
  readonly upstreamTls?: UpstreamTls;
  /** Default `"refuse"`. */
  readonly uninspectable?: Uninspectable;
  /**
   * Destination addresses (CIDRs) this rule may reach although the address guard would
   * deny them (private, loopback…). The gateway's own listeners stay denied.
   */
  readonly allowAddresses?: readonly string[];
  /**
   * The parent proxy this rule's allowed flows reach their destination through (a name from
   * the config's `parents`), or `"direct"`; absent = the policy's `defaultParent`.
   */
  readonly parent?: string;
  /** When the rule applies (days, time of day, time zone); absent = always. See `schedule.ts`. */
  readonly schedule?: ScheduleDefinition;
  /** What a denied user is told (on the block page and in the 403 body), e.g. who to ask. */
  readonly message?: string;
}

/** What {@link RuleDefinition.parent} says for a direct connection. */
export const DIRECT = "direct";

export interface PolicyDefinition {
  readonly rules: readonly RuleDefinition[];
  readonly defaultAction: Action;
  readonly defaultLog?: boolean;
  /** The parent proxy for rules without `parent` and for the default decision; absent or `"direct"` = none. */
  readonly defaultParent?: string;
  /** Per-request rules for decrypted traffic (see `compileUrlRules`); `compilePolicy` ignores them. */
  readonly urlRules?: readonly UrlRuleDefinition[];
  /**
   * Host list files by name (see `host-list.ts`); `compilePolicy` takes them parsed (read by
   * `loadHostLists`), not from here.
   */
  readonly hostLists?: Readonly<Record<string, HostListSource>>;
}

/** Where a host list comes from: a file of patterns in one of the list formats. */
export interface HostListSource {
  readonly file: string;
  /** Default `"patterns"`. */
  readonly format?: HostListFormat;
}

export interface PolicyQuery {
  readonly host: Host;
  readonly port: number;
  /** Client IP address as text. */
  readonly clientIp: string;
  /** Name of the listener the connection arrived on; only rules scoped with `listeners` look at it (absent matches none of them). */
  readonly listener?: string;
  /** The flow's mode (a {@link PolicyMode}); only rules scoped with `modes` look at it (absent or unknown matches none of them). */
  readonly mode?: string;
  /** The authenticated proxy user; only rules scoped with `users` look at it (absent matches none of them). */
  readonly user?: string;
  /** The user's groups, lower case; only rules with `groups` look at them. */
  readonly groups?: readonly string[];
  /** When the flow happens (epoch ms); only rules with a `schedule` look at it. Default: now. */
  readonly now?: number;
}

export interface Decision {
  readonly action: Action;
  /** The id of the rule that matched, or "default". */
  readonly ruleId: string;
  /**
   * Human-readable, e.g. `rule "block-ads" matched host pattern "*.ads.example"`,
   * `rule "t" matched any host on listener "tproxy" in mode "transparent"` or `no rule matched; default deny`.
   */
  readonly reason: string;
  readonly log: boolean;
  readonly decryption: Decryption;
  /** From the matching rule; `"verify"` for the default decision. */
  readonly upstreamTls: UpstreamTls;
  /** The deciding rule's `uninspectable`, when it is `"tunnel"`; absent = refuse. */
  readonly uninspectable?: "tunnel";
  /** The deciding rule's `allowAddresses` (same array each time), if any. */
  readonly allowAddresses?: readonly string[];
  /** The parent proxy (a `parents` name) upstream connections go through; absent = direct. */
  readonly parent?: string;
  /** The deciding rule's `message` for the user, if it has one. */
  readonly message?: string;
}

/** Why one rule did or did not match a query (see `Policy.explain`). */
export interface RuleExplanation {
  /** Position in `PolicyDefinition.rules`. */
  readonly index: number;
  readonly ruleId: string;
  readonly matched: boolean;
  /**
   * e.g. `matched host pattern "*.example.com" and port 443 on listener "tproxy"`,
   * `port 80 not in [443, 8000-8100]` or `listener "explicit" not in ["tproxy"]`.
   */
  readonly reason: string;
}

/** The decision for a query and every rule's verdict, in definition order. */
export interface Explanation {
  readonly decision: Decision;
  readonly rules: readonly RuleExplanation[];
}

export interface Policy {
  decide(query: PolicyQuery): Decision;
  /** Evaluate every rule linearly and say why each did or did not match (admin/debug; O(rules)). */
  explain?(query: PolicyQuery): Explanation;
}

/**
 * A per-request rule for decrypted traffic. All given conditions must match; an absent or
 * empty condition matches anything. See `compileUrlRules` for the path semantics.
 */
export interface UrlRuleDefinition {
  readonly id: string;
  /** Host patterns, same syntax as {@link RuleDefinition.hosts}. */
  readonly hosts?: readonly string[];
  /** Host lists, as {@link RuleDefinition.hostLists}. */
  readonly hostLists?: readonly string[];
  /** Path patterns: `"/admin"` (that path and everything below it), `"/files/*.pdf"` (one segment), `"/files/**"` (any depth). */
  readonly paths?: readonly string[];
  /**
   * False: `paths` match without regard to ASCII case (`/admin` also matches `/ADMIN/x`),
   * for origins that do not tell them apart. Default true; needs `paths`.
   */
  readonly caseSensitive?: boolean;
  /** Request methods, uppercase (`"GET"`, `"POST"`). */
  readonly methods?: readonly string[];
  /** Authenticated proxy users (of the CONNECT that opened the session); see {@link RuleDefinition.users}. */
  readonly users?: readonly string[];
  /** Their groups, as {@link RuleDefinition.groups}. */
  readonly groups?: readonly string[];
  readonly action: Action;
  /** Log requests this rule decides (default false here; the config file defaults it to true). */
  readonly log?: boolean;
  /**
   * An allow rule's changes to the request's fields before it goes to the origin (e.g. a
   * SaaS tenant restriction's `Restrict-Access-To-Tenants`).
   */
  readonly requestHeaders?: HeaderEditsConfig;
  /**
   * An allow rule's changes to the origin's response fields before they reach the client
   * (e.g. removing `Alt-Svc`, so browsers do not move to HTTP/3 around the gateway).
   */
  readonly responseHeaders?: HeaderEditsConfig;
  /** What a denied user is told (on the block page and in the 403 body). */
  readonly message?: string;
  /** When the rule applies, as for connection rules; absent = always. */
  readonly schedule?: ScheduleDefinition;
  /**
   * Media ranges of the response (`"video/*"`, `"application/x-msdownload"`): the rule is
   * decided when the origin's response head arrives, by its Content-Type. Such a rule takes
   * no header edits.
   */
  readonly responseTypes?: readonly string[];
  /**
   * An allow rule's limit on the request body (bytes): a request it decides with a larger
   * body is refused (`413`; a body of unknown length is counted as it goes up).
   */
  readonly maxRequestBytes?: number;
  /**
   * An allow rule's limit on the response body (bytes): a larger one announced by its
   * Content-Length is refused (`413`); one of unknown length is cut off at the limit.
   */
  readonly maxResponseBytes?: number;
}

/** A media range of a url rule's `responseTypes`, lowercase: `type/subtype`, `type/*`, or `*` over `*` (any type). */
export interface MediaRange {
  readonly type: string;
  /** `"*"`: any subtype. */
  readonly subtype: string;
}

/**
 * A url rule with `responseTypes` whose request conditions matched a request the url rules
 * allowed, ahead of the rule that decided it: the response's type decides whether it applies.
 */
export interface PendingResponseRule {
  readonly id: string;
  readonly action: Action;
  readonly log: boolean;
  readonly message?: string;
  readonly types: readonly MediaRange[];
  /** What of the request it matched, for the reason (`host "a.example" and method GET`), empty for nothing. */
  readonly matched: readonly string[];
  /** ` during … (now …)` for a rule with a schedule, else empty. */
  readonly during: string;
  /** A note on how the request was read (`(path … read leniently)`), else empty. */
  readonly note: string;
}

/** One decrypted request: its destination host, request-target path (query allowed, ignored) and method. */
export interface UrlQuery {
  readonly host: Host;
  readonly path: string;
  readonly method: string;
  /** The authenticated proxy user, if any (rules with `users` need one of theirs). */
  readonly user?: string;
  /** The user's groups, lower case (rules with `groups`). */
  readonly groups?: readonly string[];
  /** When the request happens (epoch ms); only rules with a `schedule` look at it. Default: now. */
  readonly now?: number;
  /**
   * The methods and paths the request's override fields name (`X-HTTP-Method-Override`,
   * `X-Original-URL`; see `request-overrides.ts`): each reading is judged too, and the
   * request is denied when any is.
   */
  readonly overrides?: RequestOverrides;
}

/** The verdict on one request. */
export interface UrlDecision {
  readonly action: Action;
  /** The id of the url rule that matched, or "default". */
  readonly ruleId: string;
  /** e.g. `url rule "no-admin" matched path "/admin" and method GET` or `no url rule matched; default allow`. */
  readonly reason: string;
  readonly log: boolean;
  /** The deciding rule's request header edits, when it has any. */
  readonly requestHeaders?: HeaderEditsConfig;
  /** The deciding rule's response header edits, when it has any. */
  readonly responseHeaders?: HeaderEditsConfig;
  /** The deciding rule's `message` for the user, if it has one. */
  readonly message?: string;
  /** The deciding allow rule's limit on the request body, in bytes. */
  readonly maxRequestBytes?: number;
  /** The deciding allow rule's limit on the response body, in bytes. */
  readonly maxResponseBytes?: number;
  /**
   * With an allow: rules with `responseTypes` ahead of the deciding rule that matched the
   * request, in rule order; the first whose types match the response decides it instead
   * (see `decideResponse`).
   */
  readonly byResponse?: readonly PendingResponseRule[];
  /**
   * The same for each other reading of the request (the lenient reading of a path with
   * `%2F`, `\`, `;`, and the readings of its override fields), one list per reading that
   * could deny: when the response would be denied under one, it is denied (as a request
   * would be).
   */
  readonly byResponseOther?: readonly (readonly PendingResponseRule[])[];
}

/** Compiled url rules. */
export interface UrlPolicy {
  decide(query: UrlQuery): UrlDecision;
}
