/**
 * Clients a decrypting rule cannot inspect. The gateway speaks HTTP/1.1 to a decrypted client
 * (ALPN `http/1.1`, or none); a client whose ClientHello offers only other protocols — `h2`
 * alone, as gRPC clients do — cannot complete that handshake. The rule decides: refuse it
 * with a clear alert and flow line (`uninspectable: "refuse"`, the default), or relay it
 * blind as an exception would (`"tunnel"`).
 * @module
 */
import type { ClientHello } from "../protocol/client-hello.ts";
import type { Decision } from "../policy/types.ts";

/** The protocols (ALPN) decrypted connections speak to clients. */
export const INSPECTED_ALPN: readonly string[] = ["http/1.1"];

/**
 * What the client offers that the gateway cannot inspect (e.g. `"h2"`), or undefined when it
 * can be inspected: it offers `http/1.1`, or no ALPN at all (then HTTP/1.1 is assumed).
 */
export function uninspectableOffer(hello: Pick<ClientHello, "alpn">): string | undefined {
  if (hello.alpn.length === 0 || hello.alpn.some((p) => INSPECTED_ALPN.includes(p))) return undefined;
  return hello.alpn.map((p) => JSON.stringify(p)).join(", ");
}

/** What becomes of a client offering only `offer` under `decision` (a decrypting one). */
export type UninspectableVerdict =
  /** Relayed blind: `reason` goes into the flow line (the decision's reason, and why). */
  | { readonly action: "tunnel"; readonly reason: string }
  /** Refused with a `no_application_protocol` alert: `error` says why and how to allow it. */
  | { readonly action: "refuse"; readonly error: string };

export function uninspectableVerdict(offer: string, decision: Decision): UninspectableVerdict {
  const what = `the client offers only ${offer} (ALPN), and decrypted connections speak ${INSPECTED_ALPN.join(", ")}`;
  if (decision.uninspectable === "tunnel") {
    return { action: "tunnel", reason: `${decision.reason}; ${what}: relayed without decryption (uninspectable: "tunnel")` };
  }
  return {
    action: "refuse",
    error: `Cannot inspect: ${what}. Rule ${JSON.stringify(decision.ruleId)} refuses such clients (uninspectable: "tunnel" relays them without decryption)`,
  };
}
