/* Export progress: poll the job every second, move the bar, and when the file is ready show the link
   and start the download once. Without this script the page reloads itself (<noscript> refresh).
   No inline script: the CSP forbids it. */
(function () {
  "use strict";
  var root = document.getElementById("export-job");
  if (!root || !window.fetch) { return; }
  var state = document.getElementById("export-state");
  if (state.dataset.state === "done" || state.dataset.state === "failed") { return; }
  var bar = document.getElementById("export-progress");
  var count = document.getElementById("export-count");
  var live = document.getElementById("export-live");
  var interval = Number(root.dataset.interval) || 1000;
  var lastAnnounced = -1;

  function announce(percent) {
    // Every 25 %: often enough to follow, rare enough not to drown a screen reader.
    var step = Math.floor(percent / 25) * 25;
    if (step !== lastAnnounced) { lastAnnounced = step; live.textContent = step + "%"; }
  }

  function finish(data) {
    state.dataset.state = data.status;
    if (data.status === "done") {
      bar.value = 100;
      document.getElementById("export-ready").hidden = false;
      state.textContent = root.dataset.msgDone;
      window.location.assign(data.download_url);
    } else {
      var error = document.getElementById("export-error");
      error.textContent = data.error || "";
      error.hidden = false;
    }
  }

  function poll() {
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (data) {
        bar.value = data.percent;
        count.textContent = count.textContent.replace(/^[^/]*\//, data.done.toLocaleString(document.documentElement.lang) + " /");
        announce(data.percent);
        if (data.status === "running" && state.dataset.state !== "running") {
          state.dataset.state = "running";
          state.textContent = root.dataset.msgRunning;
        }
        if (data.status === "done" || data.status === "failed") { finish(data); return; }
        window.setTimeout(poll, interval);
      })
      .catch(function () {
        live.textContent = root.dataset.msgFailed;
        window.setTimeout(poll, interval * 3);
      });
  }
  window.setTimeout(poll, interval);
}());
