/**
 * A real LDAP directory for end-to-end tests: OpenLDAP's slapd in the foreground on free
 * ports of 127.0.0.1 (ldaps:// with the test PKI's certificate, and ldap://), holding
 * `dc=tollgate,dc=test` with the given users under `ou=people`, and optionally groups
 * (`groupOfNames` under the OU given, groups in groups too, with the memberof overlay's
 * `memberOf` on their members).
 * Loaded with slapadd before it starts. Installed by scripts/setup.sh (Debian package slapd; no service is started).
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../helpers/temp-dir.ts";
import { daemonBinary, startDaemon } from "./daemon.ts";
import { closedPort } from "./ports.ts";

export interface Slapd {
  readonly ports: { readonly ldaps: number; readonly ldap: number };
  /** The bind name template for the users: `uid={user},ou=people,dc=tollgate,dc=test`. */
  readonly bindName: string;
  stop(): Promise<void>;
  readonly output: string[];
}

/** A group: its CN, the OU it is in (below the suffix), its members' user names, and groups that are members. */
export interface SlapdGroup {
  readonly cn: string;
  readonly ou: string;
  readonly members: readonly string[];
  readonly memberGroups?: readonly Pick<SlapdGroup, "cn" | "ou">[];
}

const SUFFIX = "dc=tollgate,dc=test";

/** The DN of a group in the test directory. */
export function groupDn(g: Pick<SlapdGroup, "cn" | "ou">): string {
  return `cn=${g.cn},ou=${g.ou},${SUFFIX}`;
}

/** Starts slapd with `users` (name → password), `groups`, and `tls` (PEM text of its certificate chain and key). */
export async function startSlapd(users: Readonly<Record<string, string>>, tls: { certPem: string; keyPem: string }, groups: readonly SlapdGroup[] = []): Promise<Slapd> {
  const dir = tempDir("tollgate-slapd-");
  const db = join(dir, "db");
  mkdirSync(db);
  writeFileSync(join(dir, "cert.pem"), tls.certPem);
  writeFileSync(join(dir, "key.pem"), tls.keyPem, { mode: 0o600 });
  const conf = join(dir, "slapd.conf");
  writeFileSync(conf, [
    "include /etc/ldap/schema/core.schema",
    "include /etc/ldap/schema/cosine.schema",
    "include /etc/ldap/schema/inetorgperson.schema",
    "modulepath /usr/lib/ldap",
    "moduleload back_mdb",
    "moduleload memberof",
    // an empty password with a name then binds (unauthenticated): the gateway must never send one
    "allow bind_anon_dn",
    `pidfile ${join(dir, "slapd.pid")}`,
    `TLSCertificateFile ${join(dir, "cert.pem")}`,
    `TLSCertificateKeyFile ${join(dir, "key.pem")}`,
    "database mdb",
    'suffix "dc=tollgate,dc=test"',
    `directory ${db}`,
    "maxsize 16777216",
    "overlay memberof",
    "access to attrs=userPassword by anonymous auth by * none",
    "access to * by * read",
    "",
  ].join("\n"));
  const entries = [
    "dn: dc=tollgate,dc=test\nobjectClass: dcObject\nobjectClass: organization\no: tollgate\ndc: tollgate",
    "dn: ou=people,dc=tollgate,dc=test\nobjectClass: organizationalUnit\nou: people",
    ...[...new Set(groups.map((g) => g.ou))].map((ou) => `dn: ou=${ou},${SUFFIX}\nobjectClass: organizationalUnit\nou: ${ou}`),
    // slapadd passes by the overlay: each member's memberOf is written out here
    ...Object.entries(users).map(([name, password]) =>
      [`dn: uid=${name},ou=people,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: ${name}\ncn: ${name}\nsn: ${name}\nuserPassword: ${password}`,
        ...groups.filter((g) => g.members.includes(name)).map((g) => `memberOf: ${groupDn(g)}`)].join("\n")),
    ...groups.map((g) =>
      [
        `dn: ${groupDn(g)}\nobjectClass: groupOfNames\ncn: ${g.cn}`,
        ...g.members.map((m) => `member: uid=${m},ou=people,${SUFFIX}`),
        ...(g.memberGroups ?? []).map((m) => `member: ${groupDn(m)}`),
        // a group in a group has the overlay's memberOf too
        ...groups.filter((outer) => outer.memberGroups?.some((m) => groupDn(m) === groupDn(g))).map((outer) => `memberOf: ${groupDn(outer)}`),
      ].join("\n")
    ),
  ];
  const ldif = join(dir, "data.ldif");
  writeFileSync(ldif, entries.join("\n\n") + "\n");
  execFileSync(daemonBinary("slapadd"), ["-q", "-f", conf, "-l", ldif], { stdio: "pipe" });
  const ports = { ldaps: await closedPort(), ldap: await closedPort() };
  const daemon = await startDaemon("slapd", ["-f", conf, "-h", `ldaps://127.0.0.1:${ports.ldaps}/ ldap://127.0.0.1:${ports.ldap}/`, "-d", "0"], [ports.ldaps, ports.ldap]);
  return { ports, bindName: "uid={user},ou=people,dc=tollgate,dc=test", stop: () => daemon.stop(), output: daemon.output };
}
