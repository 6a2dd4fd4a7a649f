/**
 * The dashboard served at `GET /ui`: one HTML page with inline CSS and script (no build
 * step). It holds no data itself; the script fetches everything with the bearer token.
 *
 * @module
 */
import { escapeHtml } from "./html.ts";
import { DASHBOARD_SCRIPT } from "./ui-script.ts";

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,sans-serif;color:#1d2329;background:#f6f7f9}
header{display:flex;gap:1rem;align-items:center;padding:.6rem 1rem;background:#1d2329;color:#fff}
header h1{font-size:1.1rem;margin:0}
.status{padding:.1rem .5rem;border-radius:1rem;font-size:.8rem;background:#555}
.status.live{background:#1a7f37}.status.connecting{background:#9a6700}.status.down,.status.unauthorized{background:#cf222e}
main{display:grid;grid-template-columns:minmax(0,1fr) 24rem;gap:1rem;padding:1rem}
section{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:.8rem;margin-bottom:1rem}
h2{font-size:1rem;margin:0 0 .6rem}h2 select,h2 button{font-size:.8rem;font-weight:normal;padding:.1rem .3rem}
#counts{display:flex;gap:.5rem;flex-wrap:wrap;margin-bottom:.6rem}
.count{padding:.2rem .6rem;border-radius:4px;background:#eef1f4}
.count-allow{background:#dafbe1}.count-deny{background:#ffebe9}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #eaeef2;white-space:nowrap}
td:nth-child(4){white-space:normal;word-break:break-all}
th{position:sticky;top:0;background:#fff}
.num{text-align:right}
.decision.allow{color:#1a7f37;font-weight:600}.decision.deny{color:#cf222e;font-weight:600}
.table-wrap{max-height:70vh;overflow:auto}.open-wrap{max-height:40vh}
pre{font:12px ui-monospace,monospace;background:#f6f8fa;padding:.5rem;overflow:auto;max-height:40vh;margin:0}
input,select,button{font:inherit;padding:.3rem .4rem}
form{display:flex;flex-wrap:wrap;gap:.4rem}
#explain-target{flex:1 1 100%}
#filter-form{margin-bottom:.6rem;align-items:center}#filter{flex:1 1 20rem}
.rules{padding-left:1.4rem}.rules li{margin:.2rem 0}.hit .mark{color:#1a7f37}.miss .mark{color:#cf222e}
.miss{color:#57606a}.error{color:#cf222e}.reason{color:#57606a;margin:.2rem 0}
#login{position:fixed;inset:0;background:rgba(0,0,0,.4);display:flex;align-items:center;justify-content:center}
#login[hidden]{display:none}
#login form{background:#fff;padding:1rem;border-radius:6px;flex-direction:column;min-width:20rem}
#empty{color:#57606a}
@media (max-width:60rem){main{grid-template-columns:1fr}}
`;

/**
 * The page's HTML; `nonce` must match the response's CSP (see `htmlResponse`).
 *
 * @example
 * ```ts
 * const nonce = cspNonce();
 * return htmlResponse(200, dashboardPage(nonce), nonce);
 * ```
 */
export function dashboardPage(nonce: string): string {
  const n = escapeHtml(nonce);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Tollgate dashboard</title><link rel="icon" href="data:,">
<style nonce="${n}">${STYLE}</style></head>
<body>
<header><h1>Tollgate</h1><span id="status" class="status">starting</span><span id="dropped"></span></header>
<main>
<div>
<section>
<h2>Live flows</h2>
<div id="counts"></div>
<form id="filter-form"><input id="filter" placeholder="filter: user=alice decision=deny host=*.example.com status=5xx" aria-label="filter"><button type="submit">Filter</button><span id="filter-error" class="error"></span></form>
<div class="table-wrap">
<table id="flows"><thead><tr>
<th>time</th><th>client</th><th>mode</th><th>host</th><th>decision</th><th>rule</th><th class="num">up</th><th class="num">down</th><th class="num">duration</th>
</tr></thead><tbody id="flows-body"></tbody></table>
<p id="empty">No flows yet: they appear here as connections end.</p>
</div>
</section>
<section>
<h2>Open connections <select id="open-sort" aria-label="order"><option value="age">longest open first</option><option value="bytes">most bytes first</option></select> <button id="open-refresh" type="button">refresh</button> <button id="open-close-all" type="button" disabled title="Set a filter above: every open connection it selects is closed">close all matching</button></h2>
<p id="open-summary" class="reason"></p><p id="open-closed" class="reason"></p><p id="open-error" class="error"></p>
<div class="table-wrap open-wrap">
<table id="open"><thead><tr>
<th class="num">open for</th><th>client</th><th>mode</th><th>host</th><th>rule</th><th class="num">up</th><th class="num">down</th><th></th>
</tr></thead><tbody id="open-body"></tbody></table>
</div>
</section>
</div>
<div>
<section>
<h2>Explain a decision</h2>
<form id="explain-form">
<input id="explain-target" placeholder="https://example.com/path or host:port" required>
<input id="explain-client" placeholder="client IP (127.0.0.1)" size="16">
<input id="explain-user" placeholder="proxy user" size="12">
<input id="explain-groups" placeholder="groups, comma-separated" size="18">
<select id="explain-mode"><option>explicit</option><option>socks5</option><option>transparent</option><option>transparent-http</option><option>reverse</option></select>
<button type="submit">Explain</button>
</form>
<div id="explain-result"></div>
</section>
<section>
<h2>Current policy <button id="policy-reload" type="button">reload</button></h2>
<pre id="policy">…</pre>
</section>
</div>
</main>
<div id="login" hidden>
<form id="login-form">
<h2>Admin token</h2>
<p id="login-message"></p>
<input id="token" type="password" autocomplete="current-password" placeholder="bearer token" required>
<button type="submit">Connect</button>
</form>
</div>
<script nonce="${n}">${DASHBOARD_SCRIPT}</script>
</body></html>
`;
}
