/**
 * A flow or request record as one syslog message (RFC 5424): the header a collector files it
 * by, and the record's JSON line, unchanged, as the message. Sans-IO: transports frame it.
 * @module
 */
import type { FlowRecord, RequestRecord } from "./flow-record.ts";

/** Facility names of RFC 5424 §6.2.1 (and the usual names for 4, 9, 10, 13–15), by code. */
export const SYSLOG_FACILITIES = [
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
  "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
  "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
] as const;

export type SyslogFacility = (typeof SYSLOG_FACILITIES)[number];

/** What every message of one sender says about where it comes from. */
export interface SyslogOrigin {
  readonly facility: SyslogFacility;
  /** HOSTNAME: the gateway host's name (or address) as the collector should file it. */
  readonly hostname: string;
  /** APP-NAME. */
  readonly appName: string;
  /** PROCID: the process id. */
  readonly procId: string;
}

/** Severities (RFC 5424 §6.2.1) the records get. */
const WARNING = 4;
const NOTICE = 5;
const INFORMATIONAL = 6;

/**
 * How serious the record is: a connection or request that failed is a warning, one the
 * policy denied (or an administrator revoked) a notice, anything else informational — so a
 * collector can alert on the first two without parsing the message.
 */
export function severityOf(record: FlowRecord | RequestRecord): number {
  const end = record.type === "flow" ? record.end : null;
  if (record.error !== null && end !== "denied" && end !== "revoked") return WARNING;
  if (record.decision === "deny" || end === "revoked") return NOTICE;
  return INFORMATIONAL;
}

/** The fields of the header that must be printable US-ASCII without spaces, at most `max` long ("-" when empty). */
export function headerField(value: string, max: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, "_").slice(0, max);
  return printable === "" ? "-" : printable;
}

/**
 * The record as an RFC 5424 message:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`, where MSGID is the record's type
 * (`flow` or `request`), no structured data, and MSG its JSON line (UTF-8, no BOM, no
 * newline: JSON escapes any inside strings).
 */
export function syslogMessage(record: FlowRecord | RequestRecord, origin: SyslogOrigin, now: () => Date = () => new Date()): string {
  const pri = SYSLOG_FACILITIES.indexOf(origin.facility) * 8 + severityOf(record);
  // the record's own time (ISO 8601, UTC, milliseconds) is a valid TIMESTAMP
  const timestamp = record.time !== "" ? record.time : now().toISOString();
  return `<${pri}>1 ${timestamp} ${headerField(origin.hostname, 255)} ${headerField(origin.appName, 48)} ${headerField(origin.procId, 128)} ${record.type} - ${JSON.stringify(record)}`;
}
