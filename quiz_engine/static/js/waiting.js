/* The start queue's waiting page: count down the server's estimate, then send the start form again (the
   server keeps this contestant's place, so asking again never loses it). Without this script the page
   asks to press "Thử lại", the same form. No inline script: the CSP forbids it. The countdown is not a
   live region (a screen reader need not hear every second); the place in the queue is, and changes at
   most every 15 s. */
(function () {
  "use strict";
  var form = document.getElementById("queue-form");
  var wait = document.getElementById("queue-wait");
  var position = document.getElementById("queue-position");
  if (!form || !wait || !position) { return; }
  var seconds = Math.max(1, Number(wait.dataset.waitSeconds) || 1);
  // The exact wait when the server gives it: contestants whose turns fall within one second then come back
  // spread over that second, as the queue admits them, rather than all at its end.
  var waitMs = Number(wait.dataset.waitMs);
  var rate = Number(position.dataset.rate) || 0;
  var lang = document.documentElement.lang;
  var due = Date.now() + (waitMs > 0 ? waitMs : seconds * 1000);
  var lastPlace = Date.now();
  var sent = false;

  function tick() {
    if (sent) { return; }  // pressed "Thử lại" already
    var now = Date.now();
    var left = Math.ceil((due - now) / 1000);
    if (left > 0) {
      wait.textContent = wait.dataset.msgWait.replace("{n}", left.toLocaleString(lang));
      if (rate > 0 && now - lastPlace >= 15000) {
        lastPlace = now;
        var place = Math.max(1, Math.ceil(left * rate));
        position.textContent = position.dataset.msgPosition.replace("{n}", place.toLocaleString(lang));
      }
      window.setTimeout(tick, 1000);
      return;
    }
    wait.textContent = wait.dataset.msgNow;
    // A moment after the estimate, so the ticket is surely due when the form arrives.
    if (now >= due + 150) {
      sent = true;
      form.submit();
      return;
    }
    window.setTimeout(tick, 100);
  }
  form.addEventListener("submit", function () { sent = true; });
  window.setTimeout(tick, 1000);
}());
