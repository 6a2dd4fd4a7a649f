import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parsePortSpec, portRangeText } from "../../src/policy/ports.ts";

describe("parsePortSpec", () => {
  it("parses ports and inclusive ranges", () => {
    assert.deepEqual(parsePortSpec(443), [443, 443]);
    assert.deepEqual(parsePortSpec("443"), [443, 443]);
    assert.deepEqual(parsePortSpec("8000-8100"), [8000, 8100]);
    assert.equal(portRangeText(parsePortSpec("8000-8100")), "8000-8100");
    assert.equal(portRangeText(parsePortSpec(22)), "22");
  });
  it("throws TypeError on invalid specs", () => {
    assert.throws(() => parsePortSpec(0), TypeError);
    assert.throws(() => parsePortSpec("9-8"), { message: 'expected a port 1-65535 or a range "lo-hi" with lo <= hi, got "9-8"' });
    assert.throws(() => parsePortSpec(null as unknown as number), TypeError);
  });
});
