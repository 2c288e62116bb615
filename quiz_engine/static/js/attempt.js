/* The attempt page: autosave each answer, a countdown from the server's deadline, submit.
   Without this script the page still works: the form posts to the server ("Lưu bài", "Nộp bài"). */
(function () {
  "use strict";
  var root = document.getElementById("attempt");
  if (!root) { return; }
  // A start answers with the paper itself: show the paper's own address, so that reloading the page (or
  // this script's reload when the time is up) opens the paper instead of posting the start again.
  var pageUrl = root.dataset.pageUrl;
  if (pageUrl && window.location.pathname !== pageUrl && window.history.replaceState) {
    window.history.replaceState(null, "", pageUrl);
  }
  if (!window.fetch) { return; }
  var form = document.getElementById("paper-form");
  var submitForm = document.getElementById("submit-form");
  var msg = root.dataset;
  // The save token is checked with one HMAC on the server; the form's CSRF token works too, more slowly.
  var csrf = msg.saveToken || form.querySelector("input[name=csrf_token]").value;
  var practice = msg.practice === "true";
  var pending = {};        // position -> latest value not yet stored
  var inFlight = {};       // position -> true while a request runs
  var retryDelay = {};     // position -> next back-off delay (ms)
  var submitting = false;

  // --- countdown: remaining time from the server, measured with a monotonic clock -------------
  var deadline = performance.now() + Number(msg.remainingMs);
  var timeLeft = document.getElementById("time-left");
  var announcer = document.getElementById("timer-announcer");
  var lastAnnounced = null;

  function format(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var m = Math.floor(s / 60);
    return (m < 10 ? "0" : "") + m + ":" + (s % 60 < 10 ? "0" : "") + (s % 60);
  }
  function announce(ms) {
    var s = Math.ceil(ms / 1000), text = null;
    if (s > 60 && s % 300 === 0) { text = msg.msgMinutes.replace("{n}", s / 60); }
    else if (s === 60 || s === 30 || s === 10) { text = msg.msgSeconds.replace("{n}", s); }
    if (text && text !== lastAnnounced) { announcer.textContent = text; lastAnnounced = text; }
  }
  function tick() {
    var left = deadline - performance.now();
    timeLeft.textContent = format(left);
    root.classList.toggle("hurry", left < 60000);
    announce(left);
    if (left <= 0) { timeUp(); return; }
    window.setTimeout(tick, 1000 - (left % 1000) + 5);
  }
  // A sleeping tab or phone may pause timers: re-read the true time left from the server on return.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible" || submitting) { return; }
    fetch(msg.paperUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (paper) {
        if (!paper) { return; }
        if (paper.status !== "in_progress") { window.location.reload(); return; }
        deadline = performance.now() + paper.remaining_ms;
      }).catch(function () {});
  });

  // --- autosave ---------------------------------------------------------------------------------
  var saveState = document.getElementById("save-state");
  var offline = document.getElementById("offline");

  function refreshSaveState() {
    var waiting = Object.keys(pending).length + Object.keys(inFlight).length;
    saveState.textContent = waiting ? msg.msgPending : msg.msgAllSaved;
    saveState.classList.toggle("unsaved", waiting > 0);
  }
  function questionState(fieldset, text, cls) {
    var p = fieldset.querySelector(".qstate");
    p.textContent = text;
    p.className = "qstate " + (cls || "");
  }
  function valueOf(fieldset) {
    if (fieldset.id === "q-prediction") {
      var raw = fieldset.querySelector("input").value.trim();
      return /^\d{1,10}$/.test(raw) ? {value: Number(raw)} : null;
    }
    var chosen = Array.prototype.map.call(fieldset.querySelectorAll("input:checked"), function (i) {
      return Number(i.value);
    });
    return {choices: chosen};
  }
  function queue(fieldset) {
    var body = valueOf(fieldset);
    if (body === null) { return; }
    pending[fieldset.id] = {fieldset: fieldset, body: body};
    var nav = document.getElementById("nav-" + fieldset.dataset.position);
    if (nav) { nav.classList.toggle("answered", !!(body.choices && body.choices.length)); }
    questionState(fieldset, msg.msgSaving, "saving");
    send(fieldset.id);
  }
  function send(key) {
    if (inFlight[key] || !pending[key]) { refreshSaveState(); return; }
    var job = pending[key];
    delete pending[key];
    inFlight[key] = true;
    refreshSaveState();
    var url = job.fieldset.dataset.saveUrl + (practice && job.body.choices ? "?feedback=1" : "");
    fetch(url, {
      method: "PUT", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify(job.body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {ok: response.ok, status: response.status, data: data};
      });
    }).then(function (res) {
      delete inFlight[key];
      offline.hidden = true;
      if (res.ok) {
        retryDelay[key] = 1000;
        questionState(job.fieldset, msg.msgSaved, "saved");
        if (res.data.feedback) { showFeedback(job.fieldset, res.data.feedback); }
      } else if (res.status >= 500 || res.status === 429) {
        retry(key, job);
      } else {  // refused for good (late, closed, invalid): say so, do not retry
        questionState(job.fieldset, msg.msgRefused + ": " + (res.data.error || res.status), "refused");
        if (res.data.code === "closed") { window.location.reload(); }
      }
      if (pending[key]) { send(key); }
      refreshSaveState();
    }).catch(function () {
      delete inFlight[key];
      offline.hidden = false;
      retry(key, job);
      refreshSaveState();
    });
  }
  function retry(key, job) {
    if (!pending[key]) { pending[key] = job; }
    questionState(job.fieldset, msg.msgUnsaved, "unsaved");
    var delay = retryDelay[key] || 1000;
    retryDelay[key] = Math.min(delay * 2, 30000);
    window.setTimeout(function () { send(key); }, delay);
  }
  function showFeedback(fieldset, feedback) {
    var labels = fieldset.querySelectorAll("label.choice");
    var right = [];
    Array.prototype.forEach.call(labels, function (label) {
      var input = label.querySelector("input");
      var isRight = feedback.correct.indexOf(Number(input.value)) >= 0;
      label.classList.toggle("correct", isRight);
      if (isRight) { right.push(label.querySelector(".letter").textContent); }
    });
    var chosen = valueOf(fieldset).choices.slice().sort().join(",");
    var good = chosen === feedback.correct.slice().sort().join(",");
    questionState(fieldset, (good ? msg.msgCorrect : msg.msgWrong + " " + right.join(", ") + ".") + " " +
                  feedback.explanation, good ? "saved" : "refused");
  }

  form.addEventListener("change", function (event) {
    var fieldset = event.target.closest("fieldset.question");
    if (fieldset) { queue(fieldset); }
  });
  window.addEventListener("online", function () {
    offline.hidden = true;
    Object.keys(pending).forEach(send);
  });
  window.addEventListener("offline", function () { offline.hidden = false; });
  window.addEventListener("beforeunload", function (event) {
    if (!submitting && (Object.keys(pending).length || Object.keys(inFlight).length)) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // --- submit -------------------------------------------------------------------------------------
  function unanswered() {
    var list = [];
    form.querySelectorAll("fieldset.question[data-position]").forEach(function (fieldset, index) {
      if (!fieldset.querySelector("input:checked")) { list.push(index + 1); }
    });
    return list;
  }
  function whenSaved(limitMs) {
    var started = performance.now();
    return new Promise(function (resolve) {
      (function wait() {
        var busy = Object.keys(pending).length + Object.keys(inFlight).length;
        if (!busy || performance.now() - started > limitMs) { resolve(); return; }
        window.setTimeout(wait, 100);
      })();
    });
  }
  function submitNow() {
    submitting = true;
    // The paper form goes to the submit address: its answers count only if the server lost the saved ones.
    whenSaved(4000).then(function () {
      form.setAttribute("action", submitForm.getAttribute("action"));
      form.submit();
    });
  }
  function timeUp() {
    if (submitting) { return; }
    announcer.textContent = msg.msgTimeUp;
    saveState.textContent = msg.msgTimeUp;
    submitNow();
  }
  var dialog = document.getElementById("confirm-dialog");
  document.getElementById("submit-button").addEventListener("click", function (event) {
    event.preventDefault();
    var missing = unanswered();
    var text = missing.length ? msg.msgUnanswered + " " + missing.join(", ") + "." : msg.msgAllAnswered;
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(text)) { submitNow(); }
      return;
    }
    document.getElementById("confirm-text").textContent = text;
    dialog.showModal();
  });
  if (dialog) {
    document.getElementById("confirm-yes").addEventListener("click", function () { dialog.close(); submitNow(); });
    document.getElementById("confirm-no").addEventListener("click", function () { dialog.close(); });
  }

  tick();
})();
