/* Organizer dashboard: every 15 s, and whenever the tab comes back into view, fetch the round's
   numbers and swap the tiles, charts and weakest-units table in place; a polite live region says
   when. Without this script the page is complete as served. No inline script: the CSP forbids it.
   Charts arrive as SVG text that the server escaped; they are parsed as XML and imported rather
   than assigned with innerHTML, so a malformed one is skipped instead of breaking the page. */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root || !window.fetch || !window.DOMParser) { return; }
  var url = root.dataset.url;
  var interval = Number(root.dataset.interval) || 15000;
  var status = document.getElementById("dashboard-status");
  var timer = null;
  var busy = false;

  function setText(element, text) {
    // Only on change: rewriting the same words would make some screen readers repeat them.
    if (element && element.textContent !== text) { element.textContent = text; }
  }

  function swapChart(name, svgText) {
    var holder = root.querySelector("[data-chart='" + name + "']");
    if (!holder || typeof svgText !== "string") { return; }
    var parsed = new DOMParser().parseFromString(svgText, "image/svg+xml");
    var svg = parsed.documentElement;
    if (svg.localName !== "svg" || parsed.getElementsByTagName("parsererror").length) { return; }
    while (holder.firstChild) { holder.removeChild(holder.firstChild); }
    holder.appendChild(document.importNode(svg, true));
  }

  function fillWeakest(rows) {
    var body = document.getElementById("weakest-rows");
    if (!body) { return; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      row.cells.forEach(function (cell, index) {
        var td = document.createElement("td");
        if (index > 0) { td.className = "num"; }
        td.textContent = cell;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    document.getElementById("weakest-wrap").hidden = rows.length === 0;
    document.getElementById("weakest-empty").hidden = rows.length > 0;
  }

  function apply(data) {
    Object.keys(data.tiles).forEach(function (name) {
      setText(root.querySelector("[data-count='" + name + "']"), data.tiles[name]);
    });
    Object.keys(data.charts).forEach(function (name) { swapChart(name, data.charts[name]); });
    fillWeakest(data.weakest);
    document.getElementById("live-unavailable").hidden = data.live;
    document.getElementById("stale-note").hidden = !data.stale;
    setText(status, data.updated_text);
  }

  function refresh() {
    if (busy || document.visibilityState === "hidden") { return; }
    busy = true;
    fetch(url, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) {
        // A lapsed session answers with the sign-in page: not JSON, so it counts as a failure.
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(apply)
      .catch(function () { setText(status, root.dataset.msgFailed); })
      .then(function () { busy = false; });
  }

  function restart() {
    window.clearInterval(timer);
    timer = window.setInterval(refresh, interval);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { refresh(); restart(); }
  });
  restart();
})();
