/* prodcheck HTML report: renders each finding's details from the page's JSON data block when a
   reader opens a rule or a blocking group, and filters. Progressive enhancement: without this
   script the blocking findings and the checklist are still complete. Untrusted text is only
   ever written with textContent; this script never builds HTML from strings. */
(function () {
  "use strict";
  var dataNode = document.getElementById("report-data");
  var form = document.getElementById("filters");
  if (!dataNode || !form) { return; }
  var D = JSON.parse(dataNode.textContent);
  var F = D.findings;  // [rule, status, severity, resource, message, evidence, remediation, subject, note, blocking, chart]
  var CHUNK = 200;     // findings rendered at a time in one list; "Show more" renders the next
  var ORDER = D.statuses;  // most urgent first

  var byRule = {};
  D.rules.forEach(function (r, i) { byRule[r[0]] = i; });
  var ruleFindings = D.rules.map(function () { return []; });
  var ruleBlocking = D.rules.map(function () { return []; });
  F.forEach(function (f, i) {
    ruleFindings[f[0]].push(i);
    if (f[9]) { ruleBlocking[f[0]].push(i); }
  });
  var match = new Uint8Array(F.length);

  function el(tag, cls, textValue) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (textValue !== undefined && textValue !== null) { e.textContent = String(textValue); }
    return e;
  }

  function remediationOf(f) {
    if (f[6] < 0) { return ""; }
    var res = D.resources[f[3]];
    return D.remediations[f[6]].split("\u0003").join(res[1])
      .split("\u0002").join(res[3]).split("\u0001").join(res[0]);
  }

  // Prose, ```sh commands and other snippets, as prodcheck.model.split_remediation does.
  function renderRemediation(parent, textValue) {
    var fence = /^```([\w-]*)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
    var last = 0, m;
    function prose(t) {
      t.split(/\n{2,}/).forEach(function (para) {
        if (para.trim()) { parent.appendChild(el("p", null, para.trim())); }
      });
    }
    while ((m = fence.exec(textValue)) !== null) {
      prose(textValue.slice(last, m.index));
      var pre = el("pre", "code-" + (m[1] || "text"), m[2].replace(/\n$/, ""));
      pre.setAttribute("data-lang", m[1] || "text");
      parent.appendChild(pre);
      last = fence.lastIndex;
    }
    prose(textValue.slice(last));
  }

  function pairs(parent, title, rows, cls) {
    parent.appendChild(el("h5", null, title));
    if (!rows.length) { parent.appendChild(el("p", "muted", "No property evidence recorded.")); return; }
    var table = el("table", cls || "kv-table");
    var body = el("tbody");
    rows.forEach(function (kv) {
      var tr = el("tr");
      var th = el("th"); th.setAttribute("scope", "row"); th.appendChild(el("code", null, kv[0]));
      var td = el("td"); td.appendChild(el("code", null, kv[1]));
      tr.appendChild(th); tr.appendChild(td); body.appendChild(tr);
    });
    table.appendChild(body);
    parent.appendChild(table);
  }

  // A metric finding's hourly values against its target: numbers only ([target, 1 when lower
  // is better, values]), drawn as SVG elements; no text of the finding goes into the drawing.
  function sparkline(chart) {
    var NS = "http://www.w3.org/2000/svg", W = 336, H = 48, P = 2;
    var target = Number(chart[0]), lower = chart[1] === 1, values = chart[2].map(Number);
    var high = Math.max(target, Math.max.apply(null, values));
    var low = Math.min(target, Math.min.apply(null, values));
    var top = high + (high - low) * 0.1 + 1e-9, bottom = low - (high - low) * 0.1;
    function y(v) { return (H - P - (v - bottom) / (top - bottom) * (H - 2 * P)).toFixed(1); }
    function x(n) { return (P + n * (W - 2 * P) / Math.max(values.length - 1, 1)).toFixed(1); }
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "sparkline");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("width", String(W));
    svg.setAttribute("height", String(H));
    svg.setAttribute("role", "img");
    var missed = values.filter(function (v) { return lower ? v >= target : v < target; }).length;
    var title = document.createElementNS(NS, "title");
    title.textContent = values.length + " hourly values against the target " + target +
      " (" + missed + " on the wrong side)";
    svg.appendChild(title);
    var line = document.createElementNS(NS, "line");
    line.setAttribute("class", "target");
    line.setAttribute("x1", String(P)); line.setAttribute("x2", String(W - P));
    line.setAttribute("y1", y(target)); line.setAttribute("y2", y(target));
    svg.appendChild(line);
    var path = document.createElementNS(NS, "polyline");
    path.setAttribute("class", "values");
    path.setAttribute("points", values.map(function (v, n) { return x(n) + "," + y(v); }).join(" "));
    svg.appendChild(path);
    return svg;
  }

  function findingBody(i) {
    var f = F[i], rule = D.rules[f[0]], res = D.resources[f[3]];
    var body = el("div", "finding-body");
    var meta = el("dl", "meta");
    [["Rule", rule[0] + " " + rule[1]], ["Resource", res[0] || res[1]], ["Type", res[2]],
      ["Resource group", res[3]], ["Subscription", res[4]], ["Subject", f[7]]].forEach(function (kv) {
      if (!kv[1]) { return; }
      var d = el("div"); d.appendChild(el("dt", null, kv[0])); d.appendChild(el("dd", null, kv[1]));
      meta.appendChild(d);
    });
    body.appendChild(meta);
    if (f[8].length) {
      var note = el("div", "note");
      pairs(note, D.statuses[f[1]] === "WAIVED" ? "Waiver" : "Attestation", f[8]);
      body.appendChild(note);
    }
    var ev = el("div", "evidence");
    pairs(ev, "Evidence", f[5]);
    if (f[10]) { ev.insertBefore(sparkline(f[10]), ev.children[1] || null); }
    body.appendChild(ev);
    var rem = remediationOf(f);
    if (rem) {
      var r = el("div", "remediation");
      r.appendChild(el("h5", null, "Remediation"));
      renderRemediation(r, rem);
      body.appendChild(r);
    }
    if (rule[5]) {
      var why = el("div", "rationale");
      why.appendChild(el("h5", null, "Why it matters"));
      why.appendChild(el("p", null, rule[5]));
      body.appendChild(why);
    }
    if (rule[6].length) {
      var links = el("div", "links");
      links.appendChild(el("h5", null, "Documentation"));
      var ul = el("ul");
      rule[6].forEach(function (l) {
        var li = el("li");
        if (l[1]) {
          var a = el("a", null, l[0]);
          a.href = l[0];
          a.rel = "noopener noreferrer";
          li.appendChild(a);
        } else {
          li.textContent = l[0];
        }
        ul.appendChild(li);
      });
      links.appendChild(ul);
      body.appendChild(links);
    }
    return body;
  }

  function findingRow(i, withRule) {
    var f = F[i], res = D.resources[f[3]], status = D.statuses[f[1]];
    var li = el("li", "finding-wrap");
    var d = el("details", "finding");
    d.setAttribute("data-status", status);
    d.setAttribute("data-severity", D.severities[f[2]]);
    d.setAttribute("data-index", String(i));
    var s = el("summary");
    s.appendChild(el("span", "badge status-" + status, D.statusLabels[f[1]]));
    s.appendChild(el("span", "sev sev-" + D.severities[f[2]], D.severities[f[2]]));
    if (withRule) { s.appendChild(el("code", "rule-id", D.rules[f[0]][0])); }
    s.appendChild(el("span", "resource-name", res[1]));
    if (f[7]) { s.appendChild(el("span", "subject", "[" + f[7] + "]")); }
    s.appendChild(el("span", "sep", ":"));
    s.appendChild(el("span", "message", f[4]));
    d.appendChild(s);
    d.addEventListener("toggle", function () {
      if (d.open && !d.querySelector(".finding-body")) { d.appendChild(findingBody(i)); }
    });
    li.appendChild(d);
    return li;
  }

  // A list of findings rendered CHUNK at a time.
  function renderList(container, indices, withRule, all) {
    container.textContent = "";
    var ul = el("ul", "findings");
    container.appendChild(ul);
    var shownCount = 0;
    function more() {
      var end = all ? indices.length : Math.min(indices.length, shownCount + CHUNK);
      var frag = document.createDocumentFragment();
      for (; shownCount < end; shownCount++) { frag.appendChild(findingRow(indices[shownCount], withRule)); }
      ul.appendChild(frag);
      button.hidden = shownCount >= indices.length;
      button.textContent = "Show " + Math.min(CHUNK, indices.length - shownCount) + " more of " +
        (indices.length - shownCount);
    }
    var button = el("button", "more");
    button.type = "button";
    button.addEventListener("click", more);
    container.appendChild(button);
    more();
  }

  function sorted(indices) {
    return indices.slice().sort(function (a, b) {
      return F[a][1] - F[b][1] || F[a][2] - F[b][2] || F[a][3] - F[b][3];
    });
  }

  var PASSING = { PASS: true, NOT_APPLICABLE: true };

  function renderRule(details, all) {
    var ri = byRule[details.getAttribute("data-rule")];
    var box = details.querySelector(".rule-findings");
    var shown = sorted(ruleFindings[ri].filter(function (i) { return match[i]; }));
    var open = shown.filter(function (i) { return !PASSING[D.statuses[F[i][1]]]; });
    var quiet = shown.filter(function (i) { return PASSING[D.statuses[F[i][1]]]; });
    box.textContent = "";
    if (!shown.length) { box.appendChild(el("p", "muted", "No finding matches the filters.")); return; }
    if (open.length) { renderList(box.appendChild(el("div")), open, false, all); }
    if (quiet.length) {
      // Passing and not-applicable findings stay collapsed until asked for.
      var more = el("details", "quiet");
      more.appendChild(el("summary", null, quiet.length + " passing or not applicable"));
      var inner = el("div");
      more.appendChild(inner);
      more.addEventListener("toggle", function () {
        if (more.open && !inner.firstChild) { renderList(inner, quiet, false, all); }
      });
      box.appendChild(more);
    }
  }

  function renderGroup(details, all) {
    var ri = byRule[details.getAttribute("data-rule")];
    var sev = details.getAttribute("data-severity");
    var box = details.querySelector(".group-findings");
    var names = details.querySelector(".names");
    if (names) { names.hidden = true; }
    var shown = sorted(ruleBlocking[ri].filter(function (i) {
      return match[i] && D.severities[F[i][2]] === sev;
    }));
    renderList(box, shown, false, all);
  }

  var rules = Array.prototype.slice.call(document.querySelectorAll("details.rule"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("details.bgroup"));
  var printing = false;
  rules.forEach(function (d) {
    d.addEventListener("toggle", function () { if (d.open && !printing) { renderRule(d, false); } });
  });
  groups.forEach(function (d) {
    d.addEventListener("toggle", function () { if (d.open && !printing) { renderGroup(d, false); } });
  });

  // ---- filters ------------------------------------------------------------------------------
  var panel = document.getElementById("filter-panel");
  var shownCount = document.getElementById("shown-count");
  var noMatch = document.getElementById("no-match");
  var summaryNote = document.getElementById("filter-summary");
  var printNote = document.getElementById("print-filter");
  var textBox = document.getElementById("filter-text");
  var sectionBox = document.getElementById("filter-section");
  var groupBox = document.getElementById("filter-group");
  var subBox = document.getElementById("filter-subscription");
  var NO_GROUP = "(no resource group)";
  var searchText = F.map(function (f) {
    var r = D.rules[f[0]], res = D.resources[f[3]];
    return [r[0], r[1], res[0], res[1], res[2], res[3] || NO_GROUP, f[4], f[7], r[4]].join(" ").toLowerCase();
  });

  function checked(name) {
    var out = {};
    Array.prototype.forEach.call(form.querySelectorAll("input[name='" + name + "']"), function (box) {
      if (box.checked) { out[box.value] = true; }
    });
    return out;
  }

  function describeFilters(statuses, severities, words) {
    var parts = [];
    var allStatuses = D.statuses.every(function (s) { return statuses[s]; });
    if (!allStatuses) { parts.push("status " + D.statuses.filter(function (s) { return statuses[s]; }).join(", ")); }
    if (!D.severities.every(function (s) { return severities[s]; })) {
      parts.push("severity " + D.severities.filter(function (s) { return severities[s]; }).join(", "));
    }
    if (sectionBox.value) { parts.push("section " + sectionBox.value); }
    if (subBox.value) { parts.push("subscription " + subBox.value); }
    if (groupBox.value) { parts.push("resource group " + groupBox.value); }
    if (words.length) { parts.push("search \u201c" + words.join(" ") + "\u201d"); }
    return parts;
  }

  function apply() {
    var statuses = checked("status"), severities = checked("severity");
    var wantSection = sectionBox.value, wantGroup = groupBox.value, wantSub = subBox.value;
    var words = textBox.value.toLowerCase().split(/\s+/).filter(Boolean);
    var visible = 0;
    for (var i = 0; i < F.length; i++) {
      var f = F[i], rule = D.rules[f[0]], res = D.resources[f[3]];
      var ok = statuses[D.statuses[f[1]]] === true && severities[D.severities[f[2]]] === true &&
        (!wantSection || rule[3] === wantSection) &&
        (!wantGroup || (res[3] || NO_GROUP) === wantGroup) &&
        (!wantSub || res[4] === wantSub);
      if (ok && words.length) {
        var hay = searchText[i];
        for (var w = 0; w < words.length && ok; w++) { ok = hay.indexOf(words[w]) !== -1; }
      }
      match[i] = ok ? 1 : 0;
      visible += match[i];
    }
    rules.forEach(function (d) {
      var ri = byRule[d.getAttribute("data-rule")];
      var n = 0;
      ruleFindings[ri].forEach(function (k) { n += match[k]; });
      var total = ruleFindings[ri].length;
      d.parentNode.hidden = n === 0 && total > 0;
      var count = d.querySelector(".count");
      if (count && n !== total) { count.textContent = n + " of " + total + " shown"; }
      else if (count && count.getAttribute("data-full")) { count.textContent = count.getAttribute("data-full"); }
      if (d.open) { renderRule(d, false); }
    });
    groups.forEach(function (d) {
      var ri = byRule[d.getAttribute("data-rule")], sev = d.getAttribute("data-severity");
      var n = 0, total = 0;
      ruleBlocking[ri].forEach(function (k) {
        if (D.severities[F[k][2]] === sev) { total += 1; n += match[k]; }
      });
      d.parentNode.hidden = n === 0;
      var count = d.querySelector(".count");
      if (n !== total) { count.textContent = n + " of " + total + " shown"; }
      else { count.textContent = count.getAttribute("data-full"); }
      if (d.open) { renderGroup(d, false); }
    });
    Array.prototype.forEach.call(document.querySelectorAll("article.item"), function (item) {
      item.hidden = item.querySelector("li.rule-wrap:not([hidden])") === null;
    });
    Array.prototype.forEach.call(document.querySelectorAll("section.section"), function (s) {
      s.hidden = s.querySelector("article.item:not([hidden])") === null;
    });
    var parts = describeFilters(statuses, severities, words);
    shownCount.textContent = "Showing " + visible + " of " + F.length + " findings.";
    summaryNote.textContent = parts.length ? "— " + parts.join("; ") : "";
    printNote.textContent = parts.length ?
      "Filtered printout: only findings with " + parts.join("; ") + " (" + visible + " of " + F.length + ")." : "";
    printNote.hidden = parts.length === 0;
    noMatch.hidden = visible !== 0;
  }

  Array.prototype.forEach.call(document.querySelectorAll(".count"), function (c) {
    c.setAttribute("data-full", c.textContent);
  });

  var timer = null;
  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { timer = null; apply(); }, 120);
  }
  panel.hidden = false;
  // On a narrow screen the filters start folded away, so they never cover the findings.
  if (window.matchMedia && window.matchMedia("(max-width: 40rem)").matches) { panel.open = false; }
  form.addEventListener("input", function (e) { if (e.target === textBox) { later(); } else { apply(); } });
  form.addEventListener("change", function (e) { if (e.target !== textBox) { apply(); } });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  document.getElementById("reset-filters").addEventListener("click", function () { form.reset(); apply(); });
  document.getElementById("only-problems").addEventListener("click", function () {
    Array.prototype.forEach.call(form.querySelectorAll("input[name='status']"), function (box) {
      box.checked = box.value === "FAIL" || box.value === "ERROR";
    });
    apply();
  });
  document.getElementById("expand-all").addEventListener("click", function () {
    rules.concat(groups).forEach(function (d) { d.open = true; });
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    rules.concat(groups).forEach(function (d) { d.open = false; });
  });

  // Printing: the blocking findings in full, first; the checklist as its summary rows.
  var openBeforePrint = null;
  window.addEventListener("beforeprint", function () {
    printing = true;
    openBeforePrint = groups.map(function (d) { return d.open; });
    groups.forEach(function (d) {
      if (!d.parentNode.hidden) { d.open = true; renderGroup(d, true); }
    });
  });
  window.addEventListener("afterprint", function () {
    printing = false;
    if (openBeforePrint) {
      groups.forEach(function (d, k) { d.open = openBeforePrint[k]; });
      openBeforePrint = null;
    }
  });
  apply();
}());
