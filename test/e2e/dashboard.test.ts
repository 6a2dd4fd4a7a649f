/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against the admin app served on 127.0.0.1 by the test runtime's HTTP server, with the
 * fake AdminState and its real FlowFeed. Skipped, loudly, when Chromium is missing or
 * cannot start; never passed without running.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { createAdminApp } from "../../src/admin/app.ts";
import type { Listener } from "../../src/core/runtime.ts";
import { fakeState, flowRecord, openFlow } from "../admin/_fake-state.ts";
import { currentRuntime, runtimeName } from "../helpers/runtime.ts";

const CHROMIUM = process.env["TOLLGATE_CHROMIUM"] || "/usr/bin/chromium";
const TOKEN = "dashboard-e2e-token-7f3a";
const OUTPUT = new URL("../../test-output/", import.meta.url).pathname;

async function launch(): Promise<{ context?: BrowserContext; profile?: string; skip?: string }> {
  if (!existsSync(CHROMIUM)) return { skip: `${CHROMIUM} not found (install Debian's chromium: scripts/setup.sh)` };
  const profile = mkdtempSync(join(tmpdir(), "tollgate-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1400, height: 900 },
    });
    return { context, profile };
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    return { skip: `${CHROMIUM} failed to launch: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}` };
  }
}

/** Polls the text of `selector` until `test` accepts it. */
async function waitForText(page: Page, selector: string, test: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await page.textContent(selector)) ?? "";
    if (test(text)) return text;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${selector}; last text ${JSON.stringify(text)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const browser = await launch();
const skip = browser.skip;
if (skip !== undefined) {
  console.warn(`\n!!! SKIPPED test/e2e/dashboard.test.ts: ${skip}\n!!! The dashboard was NOT tested in a browser.\n`);
}

const state = fakeState();
const app = createAdminApp(state, { token: TOKEN });
let server: Listener | undefined;
let base = "";
if (skip === undefined) {
  server = await (await currentRuntime()).serveHttp({ hostname: "127.0.0.1", port: 0 }, (request) => app.fetch(request));
  base = `http://127.0.0.1:${server.address.port}`;
}

after(async () => {
  await browser.context?.close().catch(() => {});
  if (browser.profile) rmSync(browser.profile, { recursive: true, force: true });
  // SSE responses may keep a connection open; do not wait for them forever.
  if (server) await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 2000))]);
});

// Deno reports a skipped describe as ignored (its steps alone would leave it "passed"); Bun
// hides a skipped describe's tests, so there each test carries the skip too.
describe("dashboard in headless Chromium", { skip: runtimeName === "deno" ? skip : undefined }, () => {
  it("loads with the token from the fragment, shows live flows, the policy and explanations", { skip, timeout: 60_000 }, async () => {
    const context = browser.context!;
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("response", (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
    });
    state.flows.write(flowRecord({ host: "earlier.example", decision: "allow" }));

    await page.goto(`${base}/ui#token=${encodeURIComponent(TOKEN)}`);
    await waitForText(page, "#status", (t) => t === "live", 10_000);
    assert.equal(await page.evaluate(() => location.hash), "", "the token is dropped from the address bar");
    assert.ok(await page.isHidden("#login"));
    await page.waitForSelector('#flows-body tr:has-text("earlier.example")', { timeout: 5000 });

    // Records written while the page is open appear within seconds.
    const written = Date.now();
    state.flows.write(flowRecord({ host: "blocked.ads.example", port: 443, decision: "deny", rule: "block-ads", bytesUp: 0, bytesDown: 0, durationMs: 3, client: "10.1.2.3:40000" }));
    state.flows.write(flowRecord({ host: "<img src=x onerror=alert(1)>.example", decision: "allow", rule: "web", bytesDown: 5 * 1024 * 1024 }));
    const row = await page.waitForSelector('#flows-body tr:has-text("blocked.ads.example")', { timeout: 5000 });
    assert.ok(Date.now() - written < 5000);
    const cells = await row.$$eval("td", (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(cells.slice(1), ["10.1.2.3:40000", "explicit", "blocked.ads.example:443", "deny", "block-ads", "0 B", "0 B", "3 ms"]);
    state.flows.write({
      type: "request", time: new Date().toISOString(), client: "10.1.2.3:40001", listener: "explicit", user: "alice", userAgent: null, requestId: null, mode: "explicit", host: "app.example", port: 443,
      method: "POST", url: "https://app.example/admin", status: 403, decision: "deny", rule: "no-admin", reason: "url rule", bytesUp: 10, bytesDown: 20, durationMs: 1, headerMs: 1, backend: null, error: null,
    });
    await page.waitForSelector('#flows-body tr:has-text("onerror")', { timeout: 5000 });
    const request = await page.waitForSelector('#flows-body tr:has-text("POST https://app.example/admin")', { timeout: 5000 });
    assert.equal(await request.$eval("td:nth-child(2)", (td) => td.textContent), "alice @ 10.1.2.3:40001", "the proxy user is shown with the client");
    assert.equal(await page.locator("#flows-body img").count(), 0, "record text is never parsed as HTML");
    assert.equal(await page.locator("#flows-body tr").nth(1).locator("td").nth(7).textContent(), "5.0 MiB");
    assert.equal(await page.locator('#counts [data-decision="deny"] b').textContent(), "2");
    assert.equal(await page.locator('#counts [data-decision="allow"] b').textContent(), "2");
    assert.equal(await page.locator('#counts [data-decision="total"] b').textContent(), "4");

    // The current policy.
    await waitForText(page, "#policy", (t) => t.includes('"block-ads"'));

    // The explain box.
    await page.fill("#explain-target", "https://x.ads.example/banner");
    await page.click('#explain-form button[type="submit"]');
    const verdict = await page.waitForSelector("#explain-decision", { timeout: 5000 });
    assert.match((await verdict.textContent()) ?? "", /^DENY x\.ads\.example:443 — rule block-ads/);
    const rules = await page.locator("#explain-result ol.rules li").allTextContents();
    assert.equal(rules.length, 3);
    assert.match(rules[0] ?? "", /^✓ block-ads: matched host pattern "\*\.ads\.example"/);
    assert.match(rules[2] ?? "", /^✓ web: matched any host and port 443/);
    // … and as a proxy user
    await page.fill("#explain-user", "alice");
    await page.click('#explain-form button[type="submit"]');
    await page.waitForSelector('#explain-decision:has-text("as user alice")', { timeout: 5000 });

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, "dashboard.png"), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("filters the live flows through the API's filter parameters, and shows a refused filter", { skip, timeout: 60_000 }, async () => {
    const page = await browser.context!.newPage();
    for (const [user, decision, host] of [["alice", "deny", "a1.filter.test"], ["bob", "deny", "b1.filter.test"], ["alice", "allow", "a2.filter.test"]] as const) {
      state.flows.write(flowRecord({ user, decision, host, rule: decision === "deny" ? "blocked" : "web" }));
    }
    await page.goto(`${base}/ui#token=${encodeURIComponent(TOKEN)}`);
    await waitForText(page, "#status", (t) => t === "live", 10_000);
    await page.waitForSelector('#flows-body tr:has-text("b1.filter.test")', { timeout: 5000 });

    await page.fill("#filter", "  user=alice   decision=deny host=*.filter.test ");
    await page.click('#filter-form button[type="submit"]');
    await waitForText(page, "#status", (t) => t === "live", 10_000);
    await page.waitForSelector('#flows-body tr:has-text("a1.filter.test")', { timeout: 5000 });
    const hosts = await page.locator("#flows-body tr td:nth-child(4)").allTextContents();
    assert.deepEqual(hosts, ["a1.filter.test:443"], "only the replayed record that matches");
    state.flows.write(flowRecord({ user: "bob", decision: "deny", host: "b2.filter.test" }));
    state.flows.write(flowRecord({ user: "alice", decision: "deny", host: "a3.filter.test" }));
    await page.waitForSelector('#flows-body tr:has-text("a3.filter.test")', { timeout: 5000 });
    assert.deepEqual(await page.locator("#flows-body tr td:nth-child(4)").allTextContents(), ["a3.filter.test:443", "a1.filter.test:443"]);

    await page.fill("#filter", "colour=red");
    await page.click('#filter-form button[type="submit"]');
    await waitForText(page, "#filter-error", (t) => t.includes('key among type, decision, user'));
    await page.fill("#filter", "status=abc");
    await page.click('#filter-form button[type="submit"]');
    await waitForText(page, "#filter-error", (t) => t.includes('query parameter "status" must be'));
    assert.equal(await page.textContent("#status"), "filter refused");
    await page.fill("#filter", "");
    await page.click('#filter-form button[type="submit"]');
    await waitForText(page, "#status", (t) => t === "live", 10_000);
    await page.waitForSelector('#flows-body tr:has-text("b2.filter.test")', { timeout: 5000 });
    assert.equal(await page.textContent("#filter-error"), "");
    await page.close();
  });

  it("lists the open connections with the filter box's filter, and closes one with its button", { skip, timeout: 60_000 }, async () => {
    state.open = [
      openFlow("0-1", { host: "long.open.test", user: "alice", client: "10.9.0.1:50001", durationMs: 3_725_000, bytesUp: 2048, bytesDown: 3 * 1024 * 1024, since: "2026-11-23T09:00:00.000Z" }),
      openFlow("1-2", { host: "<b>bold</b>.open.test", durationMs: 75_000, bytesUp: 0, bytesDown: 10 * 1024 * 1024, since: "2026-11-23T10:00:00.000Z" }),
    ];
    state.unanswered = [2];
    const page = await browser.context!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${base}/ui#token=${encodeURIComponent(TOKEN)}`);
    const first = await page.waitForSelector('#open-body tr[data-id="0-1"]', { timeout: 5000 });
    assert.deepEqual((await first.$$eval("td", (tds) => tds.map((td) => td.textContent))).slice(0, 7), ["1 h 2 m", "alice @ 10.9.0.1:50001", "explicit", "long.open.test:443", "web", "2.0 KiB", "3.0 MiB"]);
    assert.equal(await page.locator("#open-body b").count(), 0, "record text is never parsed as HTML");
    await waitForText(page, "#open-summary", (t) => t === "2 open; no answer from worker 2");
    assert.deepEqual(await page.locator("#open-body tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id"))), ["0-1", "1-2"]);
    const order = () => page.locator("#open-body tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id")).join(" "));
    await page.selectOption("#open-sort", "bytes");
    for (const end = Date.now() + 5000; (await order()) !== "1-2 0-1";) {
      if (Date.now() > end) throw new Error(`not reordered by bytes: ${await order()}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    assert.equal(await page.isDisabled("#open-close-all"), true, "no closing all without a filter");
    await page.fill("#filter", "host=long.open.test");
    await page.click('#filter-form button[type="submit"]');
    await page.waitForSelector('#open-body tr[data-id="1-2"]', { state: "detached", timeout: 5000 });
    assert.equal(await page.locator("#open-body tr").count(), 1);
    await page.screenshot({ path: join(OUTPUT, "dashboard-connections.png"), fullPage: true });

    await page.click('#open-body tr[data-id="0-1"] button.close-conn');
    await page.waitForSelector('#open-body tr[data-id="0-1"]', { state: "detached", timeout: 5000 });
    assert.deepEqual(state.open.map((c) => c.id), ["1-2"], "closed through DELETE /connections/0-1");
    assert.ok(state.calls.includes("closeConnection 0-1"));
    await waitForText(page, "#open-summary", (t) => t.startsWith("0 open"));
    assert.equal(await page.textContent("#open-error"), "");

    // every connection the filter selects, once confirmed
    state.open = [openFlow("0-5", { host: "long.open.test" }), openFlow("1-6", { host: "long.open.test" }), openFlow("0-7", { host: "other.test" })];
    state.unanswered = [];
    await page.click("#open-refresh");
    await page.waitForSelector('#open-body tr[data-id="1-6"]', { timeout: 5000 });
    let asked = "";
    page.once("dialog", (d) => {
      asked = d.message();
      void d.accept();
    });
    await page.click("#open-close-all");
    await waitForText(page, "#open-closed", (t) => t === "closed 2");
    assert.equal(asked, "Close every open connection matching host=long.open.test?");
    assert.deepEqual(state.open.map((c) => c.id), ["0-7"]);
    assert.ok(state.calls.includes("closeConnection 1-6: closed by an administrator (DELETE /connections?host=long.open.test)"), state.calls.join("\n"));
    await page.waitForSelector('#open-body tr[data-id="1-6"]', { state: "detached", timeout: 5000 });
    assert.deepEqual(errors, []);
    state.open = [];
    state.unanswered = [];
    await page.close();
  });

  it("asks for the token when none is given, and connects with it", { skip, timeout: 60_000 }, async () => {
    const page = await browser.context!.newPage();
    await page.goto(`${base}/ui`);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await page.waitForSelector("#login", { state: "visible", timeout: 5000 });
    assert.match((await page.textContent("#login-message")) ?? "", /needs its bearer token/);
    await page.fill("#token", "wrong-token");
    await page.click('#login-form button[type="submit"]');
    await waitForText(page, "#login-message", (t) => t.includes("refused"));
    await page.fill("#token", TOKEN);
    await page.click('#login-form button[type="submit"]');
    await waitForText(page, "#status", (t) => t === "live", 10_000);
    state.flows.write(flowRecord({ host: "after-login.example" }));
    await page.waitForSelector('#flows-body tr:has-text("after-login.example")', { timeout: 5000 });
    await page.close();
  });
});
