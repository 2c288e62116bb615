/* Countdowns to the next round (<time class="countdown" datetime=...>): the server writes the words
   once; this keeps them true every 30 s, counting from the server's own figure so a wrong phone clock
   cannot shift it. Not a live region: a screen reader need not hear every minute pass. */
(function () {
  "use strict";
  var clocks = document.querySelectorAll("time.countdown");
  if (!clocks.length) { return; }
  var loaded = Date.now();
  var served = Array.prototype.map.call(clocks, function (el) { return Number(el.dataset.msLeft); });

  function words(el, ms) {
    if (ms <= 0) { return el.dataset.msgOpen; }
    var minutes = Math.floor(ms / 60000);
    var d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    var text = d ? el.dataset.msgDays : (h ? el.dataset.msgHours : el.dataset.msgMinutes);
    return text.replace("{d}", d).replace("{h}", h).replace("{m}", m);
  }

  function tick() {
    var elapsed = Date.now() - loaded;
    Array.prototype.forEach.call(clocks, function (el, i) {
      var text = words(el, served[i] - elapsed);
      if (el.textContent !== text) { el.textContent = text; }
    });
  }
  tick();
  window.setInterval(tick, 30000);
}());
