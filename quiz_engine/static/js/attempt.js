/* The attempt page: autosave each answer (kept in the browser until the server has it), a countdown from the
   server's deadline, submit; on the result page, forget what was kept for the attempt.
   Without this script the page still works: the form posts to the server ("Lưu bài", "Nộp bài"). */
(function () {
  "use strict";

  // --- answers kept in the browser until the server has them ------------------------------------
  // localStorage "quiz:answers:<attempt id>" holds {"<position>" or "prediction": {"value": body, "at": ms}},
  // body being what the save address is sent ({"choices": [...]} or {"value": n}). An answer is written
  // there before it is sent and removed once the server has taken (or refused for good) that very value, so
  // what is left after the tab dies is what the server may lack: the page sends it again when it is opened.
  // Storage may be missing or throw (private modes, in-app browsers, a full quota): every access is guarded
  // and the page then works as it would without it. Other attempts' keys are left alone, but only the
  // KEPT_ATTEMPTS most recently written survive a page load (an attempt lasts minutes: older ones are over),
  // and the result page of an attempt removes its key (data-forget-answers).
  var STORE_PREFIX = "quiz:answers:";
  var KEPT_ATTEMPTS = 5;

  function storage() {
    try { return window.localStorage || null; } catch (e) { return null; }  // the getter itself may throw
  }
  function readKept(attemptId) {
    try {
      var kept = attemptId ? JSON.parse(storage().getItem(STORE_PREFIX + attemptId) || "{}") : {};
      return kept && typeof kept === "object" && !Array.isArray(kept) ? kept : {};
    } catch (e) { return {}; }
  }
  function writeKept(attemptId, kept) {
    try {
      if (!attemptId) { return; }
      if (Object.keys(kept).length) { storage().setItem(STORE_PREFIX + attemptId, JSON.stringify(kept)); }
      else { storage().removeItem(STORE_PREFIX + attemptId); }
    } catch (e) { /* no storage, or full: the answer is still sent */ }
  }
  function forgetAttempt(attemptId) {
    try { storage().removeItem(STORE_PREFIX + attemptId); } catch (e) { /* nothing kept */ }
  }
  function pruneKept(current) {
    try {
      var store = storage(), others = [];
      for (var i = 0; i < store.length; i++) {
        var name = store.key(i);
        if (name && name.indexOf(STORE_PREFIX) === 0 && name !== STORE_PREFIX + current) { others.push(name); }
      }
      others.map(function (name) {
        var newest = 0;
        try {
          var kept = JSON.parse(store.getItem(name)) || {};
          Object.keys(kept).forEach(function (k) { newest = Math.max(newest, Number(kept[k] && kept[k].at) || 0); });
        } catch (e) { /* unreadable: oldest of all */ }
        return {name: name, newest: newest};
      }).sort(function (a, b) { return b.newest - a.newest; }).slice(KEPT_ATTEMPTS - 1).forEach(function (old) {
        store.removeItem(old.name);
      });
    } catch (e) { /* no storage */ }
  }

  // The result page of a submitted attempt: nothing kept for it can be saved any more.
  var finished = document.querySelector("[data-forget-answers]");
  if (finished) { forgetAttempt(finished.getAttribute("data-forget-answers")); }

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
  var attemptId = msg.attemptId;
  var pending = {};        // fieldset id -> latest value not yet stored
  var inFlight = {};       // fieldset id -> true while a request runs
  var retryDelay = {};     // fieldset id -> next back-off delay (ms)
  var unsaved = {};        // fieldset id -> true while marked "not saved yet"
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

  function waitingCount() {
    var waiting = {};
    [pending, inFlight, unsaved].forEach(function (map) {
      Object.keys(map).forEach(function (key) { waiting[key] = true; });
    });
    return Object.keys(waiting).length;
  }
  function refreshSaveState() {
    var waiting = waitingCount();
    saveState.textContent = waiting ? msg.msgPending.replace("{n}", waiting) : msg.msgAllSaved;
    saveState.classList.toggle("unsaved", waiting > 0);
  }
  function questionState(fieldset, text, cls) {
    var p = fieldset.querySelector(".qstate");
    p.textContent = text;
    p.className = "qstate " + (cls || "");
  }
  // The question's number above the paper says (to the eye and to screen readers) answered and not saved.
  var navLabels = {};
  function showNav(fieldset) {
    var nav = fieldset.dataset.position && document.getElementById("nav-" + fieldset.dataset.position);
    if (!nav) { return; }
    var answered = !!fieldset.querySelector("input:checked"), notSaved = !!unsaved[fieldset.id];
    if (!(fieldset.id in navLabels)) {  // as served: "Câu 3" or "Câu 3, đã trả lời"
      var label = nav.getAttribute("aria-label") || "", suffix = ", " + msg.msgAnswered;
      navLabels[fieldset.id] = label.slice(-suffix.length) === suffix ? label.slice(0, -suffix.length) : label;
    }
    nav.classList.toggle("answered", answered);
    nav.classList.toggle("unsaved", notSaved);
    nav.setAttribute("aria-label", navLabels[fieldset.id] + (answered ? ", " + msg.msgAnswered : "") +
                     (notSaved ? ", " + msg.msgNotSaved : ""));
  }
  // "Not saved yet" in words next to the question (in its legend) and on its number above the paper.
  function markUnsaved(fieldset, on) {
    var legend = fieldset.querySelector("legend");
    var mark = legend.querySelector(".unsaved-mark");
    if (on && !mark) {
      mark = document.createElement("span");
      mark.className = "unsaved-mark";
      mark.textContent = msg.msgNotSaved;
      legend.appendChild(mark);
    } else if (!on && mark) {
      legend.removeChild(mark);
    }
    if (on) { unsaved[fieldset.id] = true; } else { delete unsaved[fieldset.id]; }
    showNav(fieldset);
  }
  // The answer on the page, or (served) the one the server sent with the page: the saved one.
  function valueOf(fieldset, served) {
    if (fieldset.id === "q-prediction") {
      var input = fieldset.querySelector("input");
      var raw = (served ? input.defaultValue : input.value).trim();
      return /^\d{1,10}$/.test(raw) ? {value: Number(raw)} : null;
    }
    var chosen = [];
    fieldset.querySelectorAll("input").forEach(function (i) {
      if (served ? i.defaultChecked : i.checked) { chosen.push(Number(i.value)); }
    });
    return {choices: chosen.sort(function (a, b) { return a - b; })};
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  function nameOf(fieldset) { return fieldset.id.slice(2); }  // "q-3" -> "3", "q-prediction" -> "prediction"
  function keep(fieldset, body) {
    var kept = readKept(attemptId);
    kept[nameOf(fieldset)] = {value: body, at: Date.now()};
    writeKept(attemptId, kept);
  }
  // The server has taken (or refused for good) ``body``: forget it, unless a newer value was kept since.
  function settle(fieldset, body) {
    var kept = readKept(attemptId), name = nameOf(fieldset);
    if (kept[name] && same(kept[name].value, body)) {
      delete kept[name];
      writeKept(attemptId, kept);
    }
  }
  function queue(fieldset) {
    var body = valueOf(fieldset);
    if (body === null) { return; }
    keep(fieldset, body);
    pending[fieldset.id] = {fieldset: fieldset, body: body};
    showNav(fieldset);
    questionState(fieldset, msg.msgSaving, "saving");
    if (navigator.onLine === false) { markUnsaved(fieldset, true); }
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
        settle(job.fieldset, job.body);  // only this value: a newer one may be waiting (pending[key])
        if (!pending[key]) {
          markUnsaved(job.fieldset, false);
          questionState(job.fieldset, msg.msgSaved, "saved");
          if (res.data.feedback) { showFeedback(job.fieldset, res.data.feedback); }
        }
      } else if (res.status >= 500 || res.status === 429) {
        retry(key, job);
      } else {  // refused for good (late, closed, invalid): say so, do not retry
        // A lost session (signed out, expired form token) judged nothing: the answer stays kept, and the
        // page opened again (signed in) sends it. Any other refusal of this value is final: forget it.
        var sessionLost = res.status === 401 || res.data.code === "csrf";
        if (!sessionLost) { settle(job.fieldset, job.body); }
        if (!pending[key]) { markUnsaved(job.fieldset, sessionLost); }
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
    markUnsaved(job.fieldset, true);
    questionState(job.fieldset, msg.msgUnsaved, "unsaved");
    var delay = retryDelay[key] || 1000;
    retryDelay[key] = Math.min(delay * 2, 30000);
    window.setTimeout(function () { send(key); }, delay);
  }
  // Whether a kept value fits its question on this page (positions and choice ids are the attempt's own).
  function fits(fieldset, body) {
    if (!body || typeof body !== "object") { return false; }
    if (fieldset.id === "q-prediction") {
      return typeof body.value === "number" && body.value >= 0 && Math.floor(body.value) === body.value;
    }
    var most = fieldset.querySelector("input[type=checkbox]") ? fieldset.querySelectorAll("input").length : 1;
    return Array.isArray(body.choices) && body.choices.length <= most && body.choices.every(function (c) {
      return fieldset.querySelector("input[value='" + Number(c) + "']") !== null;
    });
  }
  // On load: what was kept for this attempt and differs from what the server sent goes on the page and is
  // sent again through the usual path (with its retries); what the server already has is forgotten.
  function restore() {
    var kept = readKept(attemptId), again = [];
    Object.keys(kept).forEach(function (name) {
      var fieldset = document.getElementById("q-" + name), body = kept[name] && kept[name].value;
      if (fieldset && form.contains(fieldset) && fits(fieldset, body) && !same(body, valueOf(fieldset, true))) {
        again.push({fieldset: fieldset, body: body});
      } else {
        delete kept[name];
      }
    });
    writeKept(attemptId, kept);
    again.forEach(function (item) {
      if (item.fieldset.id === "q-prediction") {
        item.fieldset.querySelector("input").value = String(item.body.value);
      } else {
        item.fieldset.querySelectorAll("input").forEach(function (i) {
          i.checked = item.body.choices.indexOf(Number(i.value)) >= 0;
        });
      }
      markUnsaved(item.fieldset, true);
      queue(item.fieldset);
    });
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

  // --- answered so far: "6/10 đã trả lời" and its bar, as the page stands (answers put back count too) -------
  var answeredCount = document.getElementById("answered-count");
  var answeredBar = document.getElementById("answered-progress");
  function refreshProgress() {
    if (!answeredCount || !answeredBar) { return; }
    var total = 0, answered = 0;
    form.querySelectorAll("fieldset.question[data-position]").forEach(function (fieldset) {
      total += 1;
      if (fieldset.querySelector("input:checked")) { answered += 1; }
    });
    answeredCount.textContent = msg.msgProgress.replace("{n}", answered).replace("{total}", total);
    answeredBar.max = Math.max(total, 1);
    answeredBar.value = answered;
  }

  form.addEventListener("change", function (event) {
    var fieldset = event.target.closest("fieldset.question");
    if (fieldset) { queue(fieldset); }
    refreshProgress();
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

  pruneKept(attemptId);
  restore();
  refreshProgress();
  tick();
})();
