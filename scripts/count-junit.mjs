#!/usr/bin/env node
// Sums JUnit reports from `bun test` and `deno test` into one line: "N passed, N failed".
// Deno reports each describe() as a parent test case with its its() as steps; we count
// leaves, plus a failed parent whose children all passed (a failing hook) as one failure.
import { existsSync, readFileSync } from "node:fs";

const unescape = (s) => s.replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");

function cases(xml) {
  const out = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (let m; (m = re.exec(xml)); ) {
    const name = unescape(/\bname="([^"]*)"/.exec(m[1])?.[1] ?? "");
    const body = m[3] ?? "";
    out.push({ name, failed: /<(failure|error)\b/.test(body), skipped: /<skipped\b/.test(body) });
  }
  return out;
}

let totalPassed = 0;
let totalFailed = 0;
let totalSkipped = 0;
let missing = false;
for (const arg of process.argv.slice(2)) {
  const [label, file] = arg.split("=");
  if (!existsSync(file)) {
    console.log(`${label}: no report (${file}) — the runner crashed before reporting`);
    missing = true;
    continue;
  }
  const all = cases(readFileSync(file, "utf8"));
  let passed = 0, failed = 0, skipped = 0;
  const failedNames = [];
  for (const c of all) {
    const children = all.filter((o) => o !== c && o.name.startsWith(c.name + " > "));
    if (children.length > 0) {
      if (c.failed && !children.some((o) => o.failed)) {
        failed++;
        failedNames.push(c.name + " (hook)");
      }
      continue;
    }
    if (c.skipped) skipped++;
    else if (c.failed) {
      failed++;
      failedNames.push(c.name);
    } else passed++;
  }
  console.log(`${label}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  for (const n of failedNames) console.log(`  FAILED (${label}) ${n}`);
  totalPassed += passed;
  totalFailed += failed;
  totalSkipped += skipped;
}
if (missing) totalFailed++;
console.log(`${totalPassed} passed, ${totalFailed} failed${totalSkipped ? `, ${totalSkipped} skipped` : ""}`);
process.exit(totalFailed > 0 || totalPassed === 0 ? 1 : 0);
