/* Only improves what already works without JavaScript: idle logout timer, grade-sheet keys and checks. */
(function () {
  "use strict";
  var body = document.body, idle = +(body.getAttribute("data-idle") || 0);
  if (idle > 0) {
    setTimeout(function () {
      var form = document.getElementById("logout");
      if (form) { form.elements.idle.value = "1"; form.submit(); } else { location.href = "/"; }
    }, idle * 1000);
  }
  var printBtn = document.getElementById("print");
  if (printBtn) { printBtn.hidden = false; printBtn.onclick = function () { window.print(); }; }
  var sheet = document.querySelector("table.sheet");
  if (!sheet) return;
  var scale = +sheet.getAttribute("data-scale"), msg = sheet.getAttribute("data-msg");
  var box = document.getElementById("sheet-msg");
  function cell(name) { return sheet.querySelector('input[name="' + name + '"]'); }
  function ok(input) {
    var v = input.value.trim().replace(",", ".");
    var good = v === "" || (/^\d+(\.\d{1,2})?$/.test(v) && +v <= scale);
    input.classList.toggle("bad", !good);
    if (good) { input.removeAttribute("aria-invalid"); } else { input.setAttribute("aria-invalid", "true"); input.title = msg; }
    return good;
  }
  var inputs = sheet.querySelectorAll('input[name^="s"]');
  Array.prototype.forEach.call(inputs, function (input) {
    input.inputMode = "decimal";
    input.addEventListener("input", function () { ok(input); });
    input.addEventListener("keydown", function (e) {
      if (e.key !== "Enter" && e.key !== "Tab") return;
      var m = /^s(\d+)_(\d+)$/.exec(input.name), row = +m[1], col = m[2];
      var next = cell("s" + (row + (e.shiftKey ? -1 : 1)) + "_" + col);
      if (!next && e.key === "Enter" && !e.shiftKey && +col < 5) next = cell("s0_" + (+col + 1)) || cell("s0_5");
      if (next) { e.preventDefault(); next.focus(); next.select(); }
      else if (e.key === "Enter") { e.preventDefault(); }
    });
  });
  document.getElementById("sheet").addEventListener("submit", function (e) {
    var first = null;
    Array.prototype.forEach.call(inputs, function (input) { if (!ok(input) && !first) first = input; });
    if (first) { e.preventDefault(); box.textContent = msg; box.hidden = false; first.focus(); }
  });
})();
