/* prodcheck HTML report: filters, collapsing and printing. Progressive enhancement only:
   without this script every finding is shown expanded. Reads the page's own data-* attributes;
   never writes HTML, so untrusted text stays text. */
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  var findings = Array.prototype.slice.call(document.querySelectorAll("details.finding"));
  var items = Array.prototype.slice.call(document.querySelectorAll("article.item"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.section"));
  var shown = document.getElementById("shown-count");
  var noMatch = document.getElementById("no-match");
  var text = document.getElementById("filter-text");
  var section = document.getElementById("filter-section");
  var group = document.getElementById("filter-group");

  function checked(name) {
    var out = {};
    Array.prototype.forEach.call(form.querySelectorAll("input[name='" + name + "']"), function (box) {
      if (box.checked) { out[box.value] = true; }
    });
    return out;
  }

  function setOpen(open) {
    findings.forEach(function (d) { d.open = open; });
  }

  function apply() {
    var statuses = checked("status");
    var severities = checked("severity");
    var wantSection = section.value;
    var wantGroup = group.value;
    var words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
    var visible = 0;
    findings.forEach(function (d) {
      var haystack = d.getAttribute("data-search") || "";
      var ok = statuses[d.getAttribute("data-status")] === true &&
        severities[d.getAttribute("data-severity")] === true &&
        (!wantSection || d.getAttribute("data-section") === wantSection) &&
        (!wantGroup || d.getAttribute("data-group") === wantGroup) &&
        words.every(function (w) { return haystack.indexOf(w) !== -1; });
      d.parentNode.hidden = !ok;
      if (ok) { visible += 1; }
    });
    items.forEach(function (item) {
      item.hidden = item.querySelector("li.finding-wrap:not([hidden])") === null;
    });
    sections.forEach(function (s) {
      s.hidden = s.querySelector("article.item:not([hidden])") === null;
    });
    shown.textContent = "Showing " + visible + " of " + findings.length + " findings.";
    noMatch.hidden = visible !== 0;
  }

  form.hidden = false;
  setOpen(false);
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  document.getElementById("reset-filters").addEventListener("click", function () {
    form.reset();
    apply();
  });
  document.getElementById("only-problems").addEventListener("click", function () {
    Array.prototype.forEach.call(form.querySelectorAll("input[name='status']"), function (box) {
      box.checked = box.value === "FAIL" || box.value === "ERROR";
    });
    apply();
  });
  document.getElementById("expand-all").addEventListener("click", function () { setOpen(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { setOpen(false); });

  var openBeforePrint = null;
  window.addEventListener("beforeprint", function () {
    openBeforePrint = findings.map(function (d) { return d.open; });
    setOpen(true);
  });
  window.addEventListener("afterprint", function () {
    if (openBeforePrint) {
      findings.forEach(function (d, i) { d.open = openBeforePrint[i]; });
      openBeforePrint = null;
    }
  });

  // A link to one finding (#f12) opens it.
  if (location.hash) {
    var target = document.getElementById(location.hash.slice(1));
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  apply();
}());
