/* Only improves what already works without JavaScript: idle logout, grade-sheet keys and checks, roll-call ticks. */
(function () {
  "use strict";
  var body = document.body, idle = +(body.getAttribute("data-idle") || 0), ping = body.getAttribute("data-ping");
  var timer = null, lastPing = Date.now();
  function logoutNow() {
    var form = document.getElementById("logout");
    if (form) { form.elements.idle.value = "1"; form.submit(); } else { location.href = "/"; }
  }
  function active() {
    // reading counts as activity: the idle clock restarts, and the server hears of it now and then
    if (idle > 0) { clearTimeout(timer); timer = setTimeout(logoutNow, idle * 1000); }
    if (ping && Date.now() - lastPing > 20000) {
      lastPing = Date.now();
      var r = new XMLHttpRequest(); r.open("GET", ping); r.send();
    }
  }
  if (idle > 0 || ping) {
    ["mousemove", "mousedown", "keydown", "scroll", "touchstart", "wheel"].forEach(function (e) {
      window.addEventListener(e, active, { passive: true });
    });
    if (idle > 0) timer = setTimeout(logoutNow, idle * 1000);
  }
  var printBtn = document.getElementById("print");
  if (printBtn) { printBtn.hidden = false; printBtn.onclick = function () { window.print(); }; }
  var roll = document.getElementById("roll");
  if (roll) {
    roll.addEventListener("change", function (e) {
      var box = e.target, m = /^([hf])(\d+)$/.exec(box.name || "");
      if (!m) return;
      var hours = roll.querySelectorAll('input[name="h' + m[2] + '"]'), full = roll.querySelector('input[name="f' + m[2] + '"]');
      if (m[1] === "f") { Array.prototype.forEach.call(hours, function (h) { h.checked = box.checked; }); }
      else { full.checked = Array.prototype.every.call(hours, function (h) { return h.checked; }); }
    });
  }
  var sheet = document.querySelector("table.sheet");
  if (!sheet) return;
  var form = document.getElementById("sheet");
  var scale = +sheet.getAttribute("data-scale"), msg = sheet.getAttribute("data-msg");
  var box = document.getElementById("sheet-msg");
  var digits = { "٠": 0, "١": 1, "٢": 2, "٣": 3, "٤": 4, "٥": 5, "٦": 6, "٧": 7, "٨": 8, "٩": 9,
    "۰": 0, "۱": 1, "۲": 2, "۳": 3, "۴": 4, "۵": 5, "۶": 6, "۷": 7, "۸": 8, "۹": 9, "٫": ".", "،": "." };
  function latin(v) { return v.replace(/[٠-٩۰-۹٫،]/g, function (c) { return digits[c]; }).replace(",", "."); }
  function cell(name) { return form.elements[name]; }
  function ok(input) {
    var v = latin(input.value.trim());
    var good = v === "" || (/^\d+(\.\d{1,2})?$/.test(v) && +v <= scale);
    input.classList.toggle("bad", !good);
    if (good) { input.removeAttribute("aria-invalid"); } else { input.setAttribute("aria-invalid", "true"); input.title = msg; }
    return good;
  }
  function save() { if (check()) form.submit(); }
  function check() {
    var first = null;
    Array.prototype.forEach.call(inputs, function (input) { if (!ok(input) && !first) first = input; });
    if (first) { box.textContent = msg; box.hidden = false; first.focus(); return false; }
    return true;
  }
  var inputs = sheet.querySelectorAll('input[name^="s"]');
  form.addEventListener("keydown", function (e) {
    var el = e.target, m = /^([sxr])(\d+)(?:_(\d+))?$/.exec(el.name || "");
    if (!m) return;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save(); return; }
    var kind = m[1], row = +m[2], col = m[3];
    if (kind === "s" && !e.ctrlKey && !e.altKey && /^[aAjJغ]$/.test(e.key)) {
      // a typist marks an absence without leaving the score box: A absent, J justified
      e.preventDefault();
      el.value = ""; ok(el);
      cell("x" + row + "_" + col).value = /^[jJ]$/.test(e.key) ? "j" : "a";
      return;
    }
    if (kind === "x" && /^[aAjJ]$/.test(e.key)) { e.preventDefault(); el.value = /^[jJ]$/.test(e.key) ? "j" : "a"; return; }
    if (kind === "x" && (e.key === "Delete" || e.key === "Backspace")) { e.preventDefault(); el.value = ""; return; }
    if (e.key !== "Enter") return;
    e.preventDefault();
    var name = kind === "r" ? "r" : "s", suffix = kind === "r" ? "" : "_" + col;
    var next = cell(name + (row + (e.shiftKey ? -1 : 1)) + suffix);
    if (!next && !e.shiftKey) {
      if (kind === "r") { save(); return; }
      next = cell("s0_" + (+col + 1)) || cell("s0_5") && col !== "5" && cell("s0_5") || cell("r0");
    }
    if (next) { next.focus(); if (next.select) next.select(); }
  });
  Array.prototype.forEach.call(inputs, function (input) {
    input.inputMode = "decimal";
    input.addEventListener("input", function () { ok(input); });
  });
  form.addEventListener("submit", function (e) { if (!check()) e.preventDefault(); });
})();
