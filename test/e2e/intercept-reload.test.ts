/**
 * A reload (SIGHUP) that replaces the interception CA or the upstream trust, on a real
 * gateway with real curl: the next handshakes get leaves from the new CA (the old CA no
 * longer vouches for them), `/ca.pem` and the expiry metric show it, and dropping the
 * origin's CA from `upstreamCaFiles` makes the next CONNECT to it a `502` (no pooled
 * connection validated under the old trust is reused). No restart. Only 127.0.0.1.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

const TOKEN = "intercept-reload-test-token";

describe("interception reload: a new CA, new upstream trust (real gateway)", { timeout: 60_000 }, () => {
  let work: string;
  let pki: TestPki;
  let origin: Origin;
  let gw: GatewayProcess;

  const caDir = (name: string) => join(work, name);
  const config = (ca: string, upstreamCaFiles: string[]) => ({
    listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
    ca: { cert: join(caDir(ca), "ca.pem"), key: join(caDir(ca), "ca.key") },
    interception: { upstreamCaFiles },
    admin: { listen: "127.0.0.1:0", token: TOKEN },
    addressGuard: { allow: ["127.0.0.0/8"] },
    dns: { hosts: { "origin.test": ["127.0.0.1"] } },
    policy: { defaultAction: "deny", rules: [{ id: "inspect", hosts: ["origin.test"], action: "allow", decryption: "decrypt" }] },
  });
  /** GET https://origin.test/hello through the gateway, trusting the gateway CA `ca`. */
  const get = (ca: string) =>
    curl(["-sS", "-x", `http://127.0.0.1:${gw.port}`, "--cacert", join(caDir(ca), "ca.pem"), `https://origin.test:${origin.port}/hello`, "-w", "\n%{http_code}"]);
  const admin = async (path: string) =>
    await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const reloadWith = async (c: unknown) => {
    writeFileSync(gw.configFile!, JSON.stringify(c));
    const verdict = await gw.reload();
    assert.match(verdict, /config reloaded/);
    assert.doesNotMatch(verdict, /restart needed/);
  };

  before(async () => {
    work = tempDir("tollgate-intercept-reload-");
    const [cmd, ...args] = cliCommand();
    for (const name of ["ca-a", "ca-b"]) execFileSync(cmd!, [...args, "ca", "init", "--out", caDir(name), "--cn", `Reload test ${name}`]);
    pki = makeTestPki(["origin.test"]);
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    gw = await startGateway(config("ca-a", [pki.caFile]));
  });

  after(async () => {
    await gw?.stop();
    await origin?.close();
  });

  it("the next handshakes get leaves from the new CA; /ca.pem and the expiry metric show it", async () => {
    const first = await get("ca-a");
    assert.equal(first.stdout, "hello from origin\n200", first.stderr);
    await reloadWith(config("ca-b", [pki.caFile]));
    const renewed = await get("ca-b");
    assert.equal(renewed.stdout, "hello from origin\n200", renewed.stderr);
    const stale = await get("ca-a");
    assert.equal(stale.code, 60, "the old CA no longer vouches for the leaves served");
    assert.equal(await admin("/ca.pem"), readFileSync(join(caDir("ca-b"), "ca.pem"), "utf8"));
    assert.match(await admin("/metrics"), new RegExp(`^tollgate_certificate_not_after_timestamp_seconds\\{use="ca",listener="",file="[^"]*ca-b/ca\\.pem"\\} \\d+$`, "m"));
  });

  it("an origin CA dropped from upstreamCaFiles is no longer trusted from the next request on", async () => {
    await reloadWith(config("ca-b", []));
    const refused = await get("ca-b");
    assert.equal(refused.code, 56, refused.stderr);
    assert.match(refused.stderr, /CONNECT tunnel failed, response 502/, "validated before any certificate is minted");
    const f = await gw.waitForFlow((f) => f.host === "origin.test" && f.status === 502);
    assert.match(String(f.error), /certificate/i);
    await reloadWith(config("ca-b", [pki.caFile]));
    assert.equal((await get("ca-b")).stdout, "hello from origin\n200");
  });
});
