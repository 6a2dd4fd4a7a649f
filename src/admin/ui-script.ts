/**
 * The dashboard's client script (plain ES2017, no build step), inlined into `/ui` by
 * `ui-page.ts`. It reads the token from `#token=` (then drops it from the address bar) or
 * asks for it, streams `/flows/stream` with `fetch` + `ReadableStream` (EventSource cannot
 * send an Authorization header), lists the open connections (`ui-connections-script.ts`),
 * and renders every record field with `textContent` only.
 *
 * @module
 */
import { FLOW_FILTER_PARAMS } from "./flow-filter.ts";
import { CONNECTIONS_SCRIPT } from "./ui-connections-script.ts";

/** The script text. Written without template literals so it embeds as is. */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  "use strict";
  var FILTER_KEYS = ${JSON.stringify(FLOW_FILTER_PARAMS)};
  var MAX_ROWS = 500;
  var REPLAY = 200;
  var $ = function (id) { return document.getElementById(id); };
  var token = "";
  var controller = null;
  var retryTimer = null;
  var counts = {};
  var filterQuery = "";

  var fragment = /(?:^|&)token=([^&]*)/.exec(location.hash.slice(1));
  if (fragment) {
    try { token = decodeURIComponent(fragment[1]); } catch (e) { token = fragment[1]; }
    history.replaceState(null, "", location.pathname + location.search);
    try { sessionStorage.setItem("tollgate-admin-token", token); } catch (e) { /* private mode */ }
  } else {
    try { token = sessionStorage.getItem("tollgate-admin-token") || ""; } catch (e) { token = ""; }
  }

  function headers(extra) {
    var h = extra || {};
    if (token) h["Authorization"] = "Bearer " + token;
    return h;
  }

  function setStatus(state, text) {
    var el = $("status");
    el.className = "status " + state;
    el.textContent = text;
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function bytes(n) {
    if (typeof n !== "number") return "";
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    if (n < 1073741824) return (n / 1048576).toFixed(1) + " MiB";
    return (n / 1073741824).toFixed(2) + " GiB";
  }

  function time(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    function pad(n, w) { n = String(n); while (n.length < w) n = "0" + n; return n; }
    return pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2) + "." + pad(d.getMilliseconds(), 3);
  }

  function renderCounts() {
    var box = $("counts");
    box.textContent = "";
    var keys = Object.keys(counts).sort();
    var total = 0;
    keys.forEach(function (k) { total += counts[k]; });
    box.appendChild(counter("total", total));
    keys.forEach(function (k) { box.appendChild(counter(k, counts[k])); });
  }

  function counter(name, n) {
    var c = el("span", null, "count count-" + name.replace(/[^a-z]/g, ""));
    c.appendChild(el("b", n));
    c.appendChild(document.createTextNode(" " + name));
    c.setAttribute("data-decision", name);
    return c;
  }

${CONNECTIONS_SCRIPT}
  function addRecord(r) {
    if (!r || typeof r !== "object") return;
    var decision = r.decision === "allow" || r.decision === "deny" ? r.decision : "none";
    counts[decision] = (counts[decision] || 0) + 1;
    renderCounts();
    var tr = el("tr", null, "row-" + decision);
    var host = r.type === "request" ? (r.method + " " + r.url) : (r.host === null || r.host === undefined ? "—" : r.host + (r.port ? ":" + r.port : ""));
    var cells = [
      time(r.time), r.user ? r.user + " @ " + r.client : r.client, r.mode, host, decision === "none" ? "—" : decision, r.rule === null ? "—" : r.rule,
      bytes(r.bytesUp), bytes(r.bytesDown), typeof r.durationMs === "number" ? r.durationMs + " ms" : ""
    ];
    cells.forEach(function (text, i) {
      var td = el("td", text);
      if (i === 4) td.className = "decision " + decision;
      if (i >= 6) td.className = "num";
      if (i === 3 && r.reason) td.title = String(r.reason) + (r.error ? " — " + r.error : "");
      tr.appendChild(td);
    });
    var body = $("flows-body");
    body.insertBefore(tr, body.firstChild);
    while (body.childNodes.length > MAX_ROWS) body.removeChild(body.lastChild);
    $("empty").hidden = true;
  }

  function resetTable() {
    counts = {};
    $("flows-body").textContent = "";
    $("empty").hidden = false;
    renderCounts();
  }

  function handleFrame(frame) {
    var event = "message";
    var data = [];
    frame.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) event = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
    });
    if (data.length === 0) return;
    var payload;
    try { payload = JSON.parse(data.join("\n")); } catch (e) { return; }
    if (event === "flow") addRecord(payload);
    else if (event === "dropped") $("dropped").textContent = "missed " + payload.dropped + " records (too slow)";
  }

  function needToken(message) {
    setStatus("unauthorized", "token needed");
    $("login").hidden = false;
    $("login-message").textContent = message;
    $("token").focus();
  }

  function scheduleRetry() {
    if (retryTimer) return;
    setStatus("down", "disconnected — retrying");
    retryTimer = setTimeout(function () { retryTimer = null; startStream(); }, 2000);
  }

  function startStream() {
    if (controller) controller.abort();
    controller = new AbortController();
    var mine = controller;
    setStatus("connecting", "connecting…");
    fetch("/flows/stream?replay=" + REPLAY + filterQuery, { headers: headers({ "Accept": "text/event-stream" }), signal: mine.signal, cache: "no-store" })
      .then(function (res) {
        if (res.status === 401) { needToken("The admin API refused the token."); return; }
        if (res.status === 400) {
          setStatus("down", "filter refused");
          return res.json().then(function (body) { $("filter-error").textContent = body && body.error ? body.error : "filter refused"; });
        }
        if (!res.ok || !res.body) { scheduleRetry(); return; }
        resetTable();
        setStatus("live", "live");
        var reader = res.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) { if (mine === controller) scheduleRetry(); return; }
            buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
            if (buffer.length > 4194304) buffer = "";
            var end;
            while ((end = buffer.indexOf("\n\n")) >= 0) {
              var frame = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              handleFrame(frame);
            }
            return pump();
          });
        }
        return pump();
      })
      .catch(function () { if (mine === controller && !mine.signal.aborted) scheduleRetry(); });
  }

  /** "user=alice decision=deny" → "&user=alice&decision=deny"; throws on an unknown key. */
  function filterParams(text) {
    var query = "";
    text.split(/\s+/).forEach(function (part) {
      if (!part) return;
      var eq = part.indexOf("=");
      var key = eq > 0 ? part.slice(0, eq) : "";
      if (FILTER_KEYS.indexOf(key) < 0) throw new Error("expected key=value with a key among " + FILTER_KEYS.join(", ") + ", got " + JSON.stringify(part));
      query += "&" + key + "=" + encodeURIComponent(part.slice(eq + 1));
    });
    return query;
  }

  function applyFilter(ev) {
    ev.preventDefault();
    $("filter-error").textContent = "";
    try { filterQuery = filterParams($("filter").value); } catch (e) { $("filter-error").textContent = e.message; return; }
    startStream();
    filterOpen(filterQuery);
  }

  function loadPolicy() {
    return fetch("/policy", { headers: headers(), cache: "no-store" }).then(function (res) {
      if (res.status === 401) { needToken(token ? "The admin API refused the token." : "This admin API needs its bearer token."); return false; }
      return res.text().then(function (text) {
        var shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* keep the text */ }
        $("policy").textContent = shown;
        return true;
      });
    }).catch(function (e) { $("policy").textContent = "cannot load the policy: " + e; return false; });
  }

  function connect() {
    $("login").hidden = true;
    loadPolicy().then(function (ok) { if (ok) { startStream(); loadOpen(); } });
  }

  function explain(ev) {
    ev.preventDefault();
    var target = $("explain-target").value.trim();
    var out = $("explain-result");
    out.textContent = "";
    if (!target) return;
    var query = {};
    var hostPort = /^([^:/\[\]]+|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(target);
    if (target.indexOf("://") > 0) query.url = target;
    else if (hostPort) { query.host = hostPort[1]; query.port = Number(hostPort[2]); }
    else query.host = target;
    var client = $("explain-client").value.trim();
    if (client) query.clientIp = client;
    var user = $("explain-user").value.trim();
    if (user) query.user = user;
    var groups = $("explain-groups").value.split(",").map(function (g) { return g.trim(); }).filter(Boolean);
    if (user && groups.length) query.groups = groups;
    query.mode = $("explain-mode").value;
    fetch("/policy/explain", { method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(query) })
      .then(function (res) { return res.json().then(function (body) { return { status: res.status, body: body }; }); })
      .then(function (r) {
        if (r.status === 401) { needToken("The admin API refused the token."); return; }
        if (r.status !== 200) { out.appendChild(el("p", r.body && r.body.error ? r.body.error : "error " + r.status, "error")); return; }
        var x = r.body;
        var head = el("p", null, "verdict");
        head.appendChild(el("b", x.decision.action.toUpperCase(), "decision " + x.decision.action));
        head.setAttribute("id", "explain-decision");
        head.appendChild(document.createTextNode(" " + x.host + ":" + x.port + " — rule " + x.decision.ruleId + (x.decision.decryption === "decrypt" ? " (decrypt)" : "") + (x.user ? " — as user " + x.user + (x.groups && x.groups.length ? " (groups " + x.groups.join(", ") + ")" : "") : "")));
        out.appendChild(head);
        out.appendChild(el("p", x.decision.reason, "reason"));
        if (x.url) out.appendChild(el("p", "URL rule: " + x.url.action + " — " + x.url.reason, "reason"));
        var list = el("ol", null, "rules");
        (x.rules || []).forEach(function (rule) {
          var li = el("li", null, rule.matched ? "hit" : "miss");
          li.appendChild(el("span", rule.matched ? "✓ " : "✗ ", "mark"));
          li.appendChild(el("b", rule.ruleId));
          li.appendChild(document.createTextNode(": " + rule.reason));
          list.appendChild(li);
        });
        out.appendChild(list);
      })
      .catch(function (e) { out.appendChild(el("p", "request failed: " + e, "error")); });
  }

  $("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    token = $("token").value.trim();
    try { sessionStorage.setItem("tollgate-admin-token", token); } catch (e) { /* private mode */ }
    $("token").value = "";
    connect();
  });
  $("explain-form").addEventListener("submit", explain);
  $("filter-form").addEventListener("submit", applyFilter);
  $("policy-reload").addEventListener("click", function () { loadPolicy(); });
  renderCounts();
  connect();
})();
`;
