/**
 * The dashboard's open-connections panel (plain ES2017, no build step): a part of the
 * dashboard script (`ui-script.ts` inlines it into its function, whose helpers `$`, `el`,
 * `bytes`, `headers` and `needToken` it uses). It polls `GET /connections` every few
 * seconds while the page is visible, with the filter box's parameters, and closes one with
 * `DELETE /connections/{id}`, or (asked to confirm) every one the filter selects with
 * `DELETE /connections?<filter>`; record text is rendered with `textContent` only.
 *
 * @module
 */

/** The script text. Written without template literals so it embeds as is. */
export const CONNECTIONS_SCRIPT = String.raw`
  var OPEN_LIMIT = 200;
  var OPEN_POLL_MS = 3000;
  var openTimer = null;
  var openQuery = "";
  /** The latest listing asked for: an older answer arriving late is dropped. */
  var openSeq = 0;

  function age(ms) {
    if (typeof ms !== "number") return "";
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " m " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " m";
  }

  function renderOpen(list) {
    var body = $("open-body");
    body.textContent = "";
    (list.connections || []).forEach(function (c) {
      var tr = el("tr");
      tr.setAttribute("data-id", String(c.id));
      var host = c.host === null || c.host === undefined ? "—" : c.host + (c.port ? ":" + c.port : "");
      var cells = [age(c.durationMs), c.user ? c.user + " @ " + c.client : c.client, c.mode + (c.decryption === "decrypt" ? " (decrypted)" : ""), host, c.rule === null ? "—" : c.rule, bytes(c.bytesUp), bytes(c.bytesDown)];
      cells.forEach(function (text, i) {
        var td = el("td", text);
        if (i === 0 || i >= 5) td.className = "num";
        if (i === 3 && c.reason) td.title = String(c.reason);
        tr.appendChild(td);
      });
      var td = el("td");
      var button = el("button", "close", "close-conn");
      button.type = "button";
      button.addEventListener("click", function () { closeOpen(String(c.id), button); });
      td.appendChild(button);
      tr.appendChild(td);
      body.appendChild(tr);
    });
    var shown = (list.connections || []).length;
    var summary = list.total + " open" + (list.total > shown ? " (the first " + shown + " shown)" : "");
    if (list.unanswered && list.unanswered.length > 0) summary += "; no answer from worker " + list.unanswered.join(", ");
    $("open-summary").textContent = summary;
  }

  function loadOpen() {
    clearTimeout(openTimer);
    openTimer = null;
    if (document.hidden) return;
    var sort = $("open-sort").value === "bytes" ? "bytes" : "age";
    var mine = ++openSeq;
    fetch("/connections?limit=" + OPEN_LIMIT + "&sort=" + sort + openQuery, { headers: headers(), cache: "no-store" })
      .then(function (res) {
        if (mine !== openSeq) return;
        if (res.status === 401) { needToken("The admin API refused the token."); return; }
        return res.json().then(function (body) {
          if (mine !== openSeq) return;
          if (res.status !== 200) { $("open-error").textContent = body && body.error ? body.error : "error " + res.status; return; }
          $("open-error").textContent = "";
          renderOpen(body);
          openTimer = setTimeout(loadOpen, OPEN_POLL_MS);
        });
      })
      .catch(function (e) {
        if (mine !== openSeq) return;
        $("open-error").textContent = "cannot list the open connections: " + e;
        openTimer = setTimeout(loadOpen, OPEN_POLL_MS);
      });
  }

  function closeOpen(id, button) {
    button.disabled = true;
    fetch("/connections/" + encodeURIComponent(id), { method: "DELETE", headers: headers() })
      .then(function (res) {
        return res.json().then(function (body) {
          $("open-error").textContent = res.status === 200 ? "" : (body && body.error ? body.error : "error " + res.status);
          loadOpen();
        });
      })
      .catch(function (e) { $("open-error").textContent = "cannot close " + id + ": " + e; button.disabled = false; });
  }

  /** Closes every open connection the filter box selects, once confirmed (none without a filter). */
  function closeAllOpen() {
    var filter = openQuery.replace(/^&/, "");
    var shown = filter;
    try { shown = decodeURIComponent(filter); } catch (e) { /* show it encoded */ }
    if (filter === "" || !window.confirm("Close every open connection matching " + shown + "?")) return;
    var button = $("open-close-all");
    button.disabled = true;
    fetch("/connections?" + filter, { method: "DELETE", headers: headers() })
      .then(function (res) {
        return res.json().then(function (body) {
          if (res.status !== 200) { $("open-error").textContent = body && body.error ? body.error : "error " + res.status; return; }
          var note = "closed " + body.closed.length;
          if (body.remaining > 0) note += "; " + body.remaining + " more match: close again";
          if (body.unanswered.length > 0) note += "; no answer from worker " + body.unanswered.join(", ");
          $("open-error").textContent = "";
          $("open-closed").textContent = note;
        });
      })
      .catch(function (e) { $("open-error").textContent = "cannot close the connections: " + e; })
      .then(function () { button.disabled = openQuery === ""; loadOpen(); });
  }

  /** The connections panel follows the filter box (the same parameters). */
  function filterOpen(query) {
    openQuery = query;
    $("open-close-all").disabled = query === "";
    $("open-closed").textContent = "";
    loadOpen();
  }

  $("open-sort").addEventListener("change", loadOpen);
  $("open-refresh").addEventListener("click", loadOpen);
  $("open-close-all").addEventListener("click", closeAllOpen);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) loadOpen(); });
`;
