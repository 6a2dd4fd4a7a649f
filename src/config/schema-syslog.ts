/**
 * Config schema for `log.syslog`: the flow log as RFC 5424 messages to a syslog collector.
 * @module
 */
import * as v from "valibot";
import { SYSLOG_FACILITIES } from "../log/syslog-message.ts";
import { syslogUrlError } from "../log/syslog-url.ts";
import { checkedString, expected, filePath, integer, object } from "./schema-kit.ts";

/** Printable US-ASCII without spaces, as the header fields of RFC 5424 must be. */
const headerField = (what: string, max: number) =>
  checkedString(what, (t) => (/^[\x21-\x7e]+$/.test(t) && t.length <= max ? undefined : `expected ${what}: 1-${max} printable ASCII characters without spaces, got ${JSON.stringify(t)}`));

export const syslogSchema = v.pipe(
  object({
    /** `udp://host:port` (default port 514), `tcp://host:port` (514) or `tls://host:port` (6514). */
    url: checkedString('a "udp://", "tcp://" or "tls://host:port" URL', syslogUrlError),
    facility: v.optional(v.picklist(SYSLOG_FACILITIES, expected(`a syslog facility (${SYSLOG_FACILITIES.join(", ")})`)), "local0"),
    appName: v.optional(headerField("an APP-NAME", 48), "tollgate"),
    /** The HOSTNAME field; default: the machine's host name. */
    hostname: v.optional(headerField("a HOSTNAME", 255)),
    framing: v.optional(v.picklist(["octet-counting", "newline"], expected('"octet-counting" or "newline"')), "octet-counting"),
    queueBytes: v.optional(integer(65_536, 1_073_741_824), 16 * 1024 * 1024),
    caFile: v.optional(filePath),
    certFile: v.optional(filePath),
    keyFile: v.optional(filePath),
  }),
  v.check((s) => (s.certFile === undefined) === (s.keyFile === undefined), 'expected "certFile" and "keyFile" together'),
  v.check((s) => /^tls:/i.test(s.url) || (s.caFile === undefined && s.certFile === undefined), '"caFile", "certFile" and "keyFile" are for a "tls://" URL'),
  v.check((s) => !/^udp:/i.test(s.url) || s.framing === "octet-counting", '"framing" is for a "tcp://" or "tls://" URL (UDP sends one message per datagram)'),
);
