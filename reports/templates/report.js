(function () {
  "use strict";
  // Tables with class "sortable": a click on a heading sorts by that column (again: reverse).
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        var num = th.getAttribute("data-type") === "num";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var p = x.getAttribute("data-v") || x.textContent, q = y.getAttribute("data-v") || y.textContent;
          var c = num ? parseFloat(p) - parseFloat(q) : p.localeCompare(q);
          return asc ? c : -c;
        });
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();

(function () {
  "use strict";
  var table = document.getElementById("findings");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var n = rows.length;
  var st = new Array(n), fa = new Array(n), se = new Array(n), bl = new Array(n);
  for (var i = 0; i < n; i++) {
    st[i] = rows[i].getAttribute("data-s");
    fa[i] = rows[i].getAttribute("data-f");
    se[i] = rows[i].getAttribute("data-v");
    bl[i] = rows[i].getAttribute("data-b") === "1";
  }
  var texts = null;
  var fStatus = document.getElementById("f-status");
  var fFamily = document.getElementById("f-family");
  var fSeverity = document.getElementById("f-severity");
  var fText = document.getElementById("f-text");
  var fBlockers = document.getElementById("f-blockers");
  var shown = document.getElementById("shown");
  var empty = document.getElementById("no-match");

  function apply() {
    var s = fStatus.value, f = fFamily.value, v = fSeverity.value;
    var q = fText.value.trim().toLowerCase(), b = fBlockers.checked;
    if (q && texts === null) {
      texts = new Array(n);
      for (var j = 0; j < n; j++) { texts[j] = rows[j].textContent.toLowerCase(); }
    }
    var count = 0;
    for (var k = 0; k < n; k++) {
      var ok = (!s || st[k] === s) && (!f || fa[k] === f) && (!v || se[k] === v) &&
        (!b || bl[k]) && (!q || texts[k].indexOf(q) !== -1);
      if (rows[k].hidden === ok) { rows[k].hidden = !ok; }
      if (ok) { count++; }
    }
    shown.textContent = String(count);
    empty.hidden = count !== 0;
  }

  var timer = null;
  fText.addEventListener("input", function () {
    if (timer !== null) { clearTimeout(timer); }
    timer = setTimeout(function () { timer = null; apply(); }, 150);
  });
  [fStatus, fFamily, fSeverity, fBlockers].forEach(function (el) {
    el.addEventListener("change", apply);
  });
  document.getElementById("f-reset").addEventListener("click", function () {
    fStatus.value = ""; fFamily.value = ""; fSeverity.value = "";
    fText.value = ""; fBlockers.checked = false;
    apply();
  });

  var details = null;
  function line(parent, label, text, cls) {
    var p = document.createElement("p");
    if (cls) { p.className = cls; }
    if (label) {
      var b = document.createElement("strong");
      b.textContent = label;
      p.appendChild(b);
      p.appendChild(document.createTextNode(" "));
    }
    p.appendChild(document.createTextNode(text));
    parent.appendChild(p);
  }
  document.addEventListener("toggle", function (event) {
    var d = event.target;
    if (!d.classList || !d.classList.contains("ev") || !d.open) { return; }
    var inner = d.querySelector(".inner");
    if (inner.getAttribute("data-filled") === "1") { return; }
    if (details === null) {
      details = JSON.parse(document.getElementById("details-data").textContent);
    }
    // row: [check_id, status, fingerprint, resource id, remediation or null, suppressed, evidence]
    var row = details.rows[Number(d.getAttribute("data-i"))];
    if (row === undefined) { return; }
    var sup = row[5];
    if (sup) {
      line(inner, "Suppressed", "until " + sup.expires + (sup.owner ? " by " + sup.owner : "") +
        ": " + sup.reason);
    }
    var remedy = row[4] !== null ? row[4] : (details.remediation[row[0]] || "");
    if (remedy && row[1] !== "pass") { line(inner, "How to fix:", remedy); }
    line(inner, "", "fingerprint " + row[2] + (row[3] ? " \u00b7 " + row[3] : ""), "muted small");
    var pre = document.createElement("pre");
    pre.textContent = JSON.stringify(row[6], null, 2);
    inner.appendChild(pre);
    inner.setAttribute("data-filled", "1");
  }, true);
  apply();
})();
