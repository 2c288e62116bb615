/*
 * Unit picker, progressive enhancement: adds a text box above every <select data-unit-filter>
 * that narrows its options as you type (diacritics and case ignored: "phuong 3" finds "Phường 3").
 * Without JavaScript the plain <select> still works. No inline script: the CSP forbids it.
 * Options are removed and put back rather than hidden, because mobile Safari ignores hidden <option>s.
 */
(function () {
  "use strict";

  function fold(text) {
    return text.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/\s+/g, " ").trim();
  }

  function snapshot(select) {
    // Each entry: {group: <optgroup>|null, option: <option>, key: folded label}
    var entries = [];
    Array.prototype.forEach.call(select.options, function (option) {
      var group = option.parentNode.tagName === "OPTGROUP" ? option.parentNode : null;
      entries.push({ group: group, option: option, key: fold(option.textContent) });
    });
    var groups = Array.prototype.slice.call(select.querySelectorAll("optgroup"));
    return { entries: entries, groups: groups };
  }

  function rebuild(select, state, words) {
    var selected = select.value;
    var shown = 0;
    state.groups.forEach(function (group) {
      while (group.firstChild) { group.removeChild(group.firstChild); }
      if (group.parentNode) { select.removeChild(group); }
    });
    while (select.firstChild) { select.removeChild(select.firstChild); }
    state.entries.forEach(function (entry) {
      var isPlaceholder = entry.option.value === "";
      var matches = words.every(function (w) { return entry.key.indexOf(w) !== -1; });
      // The placeholder and the current choice stay, so filtering never changes the answer by itself.
      if (!(isPlaceholder || matches || entry.option.value === selected)) { return; }
      if (!isPlaceholder && matches) { shown += 1; }
      if (entry.group) {
        if (!entry.group.parentNode) { select.appendChild(entry.group); }
        entry.group.appendChild(entry.option);
      } else {
        select.appendChild(entry.option);
      }
    });
    select.value = selected;
    return shown;
  }

  function enhance(select, index) {
    var state = snapshot(select);
    var id = (select.id || "unit") + "-filter-" + index;
    var wrapper = document.createElement("div");
    wrapper.className = "unit-filter";
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = select.getAttribute("data-filter-label") || "";
    var input = document.createElement("input");
    input.type = "search";
    input.id = id;
    input.autocomplete = "off";
    input.setAttribute("aria-controls", select.id);
    var status = document.createElement("p");
    status.className = "hint";
    status.id = id + "-status";
    status.setAttribute("aria-live", "polite");
    input.setAttribute("aria-describedby", status.id);
    wrapper.appendChild(label);
    wrapper.appendChild(input);
    wrapper.appendChild(status);
    select.parentNode.insertBefore(wrapper, select);

    var template = select.getAttribute("data-filter-count") || "{n}";
    input.addEventListener("input", function () {
      var words = fold(input.value).split(" ").filter(Boolean);
      var shown = rebuild(select, state, words);
      status.textContent = words.length ? template.replace("{n}", String(shown)) : "";
    });
  }

  function init() {
    var selects = document.querySelectorAll("select[data-unit-filter]");
    Array.prototype.forEach.call(selects, enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
