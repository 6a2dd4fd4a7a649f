import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { LogConfig, SyslogConfig } from "../../src/config/config.ts";
import { LogOutputs } from "../../src/log/log-outputs.ts";
import { flowRecord } from "../metrics/_record.ts";

const syslog = (url: string): SyslogConfig => ({ url, facility: "local0", appName: "tollgate", framing: "octet-counting", queueBytes: 1 << 20 });

/** Outputs that record what they got and when they were opened and closed. */
function openers(failSyslog?: string) {
  const events: string[] = [];
  const open = {
    flows: (target: LogConfig["flows"]) => {
      const name = typeof target === "string" ? target : target.file;
      events.push(`open flows ${name}`);
      return { write: () => void events.push(`write flows ${name}`), close: () => void events.push(`close flows ${name}`) };
    },
    syslog: (c: SyslogConfig) => {
      if (c.url === failSyslog) throw new Error(`cannot read log.syslog.caFile "missing.pem": ENOENT`);
      events.push(`open syslog ${c.url}`);
      return { write: () => void events.push(`write syslog ${c.url}`), close: () => Promise.resolve(void events.push(`close syslog ${c.url}`)) };
    },
  };
  return { events, open };
}

describe("LogOutputs", () => {
  it("writes each record to the flow log and the collector", () => {
    const { events, open } = openers();
    const outputs = new LogOutputs({ flows: "stdout", syslog: syslog("udp://127.0.0.1") }, open);
    outputs.write(flowRecord());
    assert.deepEqual(events, ["open syslog udp://127.0.0.1", "open flows stdout", "write flows stdout", "write syslog udp://127.0.0.1"]);
  });

  it("a reload replaces only the part that changed, and closes what it replaced once in force", async () => {
    const { events, open } = openers();
    const outputs = new LogOutputs({ flows: { file: "a.jsonl" }, syslog: syslog("udp://127.0.0.1") }, open);
    events.length = 0;
    const change = outputs.prepare({ flows: { file: "a.jsonl" }, syslog: syslog("tcp://127.0.0.1") });
    assert.deepEqual(events, ["open syslog tcp://127.0.0.1"], "the file is not reopened");
    outputs.write(flowRecord());
    assert.equal(events.at(-1), "write syslog udp://127.0.0.1", "nothing in force before commit");
    change.commit();
    await new Promise((r) => setTimeout(r, 0));
    assert.ok(events.includes("close syslog udp://127.0.0.1"));
    events.length = 0;
    outputs.prepare({ flows: { file: "b.jsonl" }, syslog: syslog("tcp://127.0.0.1") }).commit();
    assert.deepEqual(events, ["open flows b.jsonl", "close flows a.jsonl"], "the collector is not reconnected");
    events.length = 0;
    outputs.prepare({ flows: { file: "b.jsonl" } }).commit();
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(events, ["close syslog tcp://127.0.0.1"], "syslog removed");
    outputs.write(flowRecord());
    assert.deepEqual(events.slice(1), ["write flows b.jsonl"]);
  });

  it("an output that cannot be opened refuses the reload and leaves the old ones in force", () => {
    const { events, open } = openers("tls://bad");
    const outputs = new LogOutputs({ flows: "stdout" }, open);
    assert.throws(() => outputs.prepare({ flows: { file: "c.jsonl" }, syslog: syslog("tls://bad") }), /caFile "missing.pem"/);
    assert.ok(!events.includes("open flows c.jsonl"), "the file is not opened for a refused reload");
    events.length = 0;
    outputs.write(flowRecord());
    assert.deepEqual(events, ["write flows stdout"]);
    assert.throws(() => new LogOutputs({ flows: "stdout", syslog: syslog("tls://bad") }, open), /caFile/);
  });

  it("close() closes both and waits for the collector's", async () => {
    const { events, open } = openers();
    const outputs = new LogOutputs({ flows: "stdout", syslog: syslog("tcp://127.0.0.1") }, open);
    await outputs.close();
    assert.deepEqual(events.slice(-2), ["close flows stdout", "close syslog tcp://127.0.0.1"]);
  });

  it("reopens the collector's output when a file it names changed, its settings the same", () => {
    const { events, open } = openers();
    let certificate = "cert v1";
    const outputs = new LogOutputs({ flows: "stdout", syslog: syslog("tls://siem.test") }, { ...open, syslogKey: (c) => `${c.url} ${certificate}` });
    events.length = 0;
    outputs.prepare({ flows: "stdout", syslog: syslog("tls://siem.test") }).commit();
    assert.deepEqual(events, [], "nothing changed: nothing reopened");
    certificate = "cert v2 (renewed)";
    outputs.prepare({ flows: "stdout", syslog: syslog("tls://siem.test") }).commit();
    assert.deepEqual(events, ["open syslog tls://siem.test", "close syslog tls://siem.test"]);
  });
});
