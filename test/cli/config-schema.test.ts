import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { configCommand } from "../../src/cli/config.ts";
import { configJsonSchema } from "../../src/cli/config-schema.ts";
import { cliCommand } from "../e2e/support/gateway.ts";

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[] };

async function run(args: string[]) {
  let out = "";
  let err = "";
  const code = await configCommand(args, {
    runtime: { dial: () => Promise.reject(new Error("unused")), tls: { accept: () => Promise.reject(new Error("unused")), connect: () => Promise.reject(new Error("unused")) } },
    readText: () => {
      throw new Error("unused");
    },
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
  });
  return { code, out, err };
}

describe("tollgate config schema", () => {
  it("prints valid JSON: a draft-07 object schema with every top-level section", async () => {
    const r = await run(["schema"]);
    assert.equal(r.code, 0);
    assert.equal(r.err, "");
    const schema = JSON.parse(r.out) as Schema;
    assert.equal(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert.equal(schema["type"], "object");
    assert.equal(schema["additionalProperties"], false);
    for (const key of ["$schema", "listeners", "policy", "ca", "interception", "dns", "limits", "log"]) assert.ok(schema.properties?.[key], key);
    assert.deepEqual(schema.properties?.["$schema"], { type: "string" }, 'configs may say "$schema": "./tollgate.schema.json"');
  });

  it("describes rules: required action, enumerations, defaults, ports as numbers or ranges", () => {
    const rule = configJsonSchema() as Schema;
    const item = rule.properties?.["policy"]?.properties?.["rules"]?.items;
    assert.ok(item);
    assert.deepEqual(item["required"], ["action"]);
    assert.equal(item["additionalProperties"], false);
    assert.deepEqual(item.properties?.["action"]?.["enum"], ["allow", "deny"]);
    assert.equal(item.properties?.["decryption"]?.["default"], "exception");
    const ports = item.properties?.["ports"]?.items?.anyOf ?? [];
    assert.deepEqual(ports.map((p) => p["type"]), ["integer", "string"]);
    assert.equal(rule.properties?.["policy"]?.properties?.["defaultAction"]?.["default"], "deny");
  });

  it("keeps both shapes of the fields that take an object or a string, and leaves no dangling $ref", () => {
    const schema = configJsonSchema() as Schema;
    const flows = schema.properties?.["log"]?.properties?.["flows"];
    assert.equal(flows?.anyOf?.length, 2);
    assert.ok(flows?.anyOf?.some((b) => b["type"] === "object" && (b["required"] as string[]).includes("file")));
    assert.ok(flows?.anyOf?.some((b) => JSON.stringify(b["enum"]) === '["stdout","stderr","off"]'));
    const text = JSON.stringify(schema);
    for (const ref of text.matchAll(/"\$ref":"#\/(\$defs|definitions)\/([^"]+)"/g)) {
      assert.ok((schema[ref[1]!] as Record<string, unknown> | undefined)?.[ref[2]!], ref[0]);
    }
  });

  it("is a usage error (exit 2) otherwise", async () => {
    for (const args of [[], ["scheme"], ["schema", "extra"]]) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, /Usage:\n {2}tollgate config check[^]*\n {2}tollgate config schema/);
    }
  });

  it("runs from the real command line", async () => {
    const [cmd, ...pre] = cliCommand();
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(cmd!, [...pre, "config", "schema"], { maxBuffer: 8 * 1024 * 1024 }, (error, stdout) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, out: String(stdout) })));
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out), JSON.parse((await run(["schema"])).out));
  });
});
