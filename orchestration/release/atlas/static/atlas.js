/* Sozialatlas: the interactive atlas of a release. Hand-written, no libraries, no requests:
   everything it shows comes from data.js (window.SOZIALATLAS, written by
   orchestration/release/atlas/model.py from the release's public files). */
(function () {
  "use strict";
  var started = performance.now();
  var D = window.SOZIALATLAS;
  var SVGNS = "http://www.w3.org/2000/svg";
  var WITHHELD = { "\u2022": true, "/": true };
  var CODE_TEXT = { g: "geschätzt", t: "aus teilweise geheim gehaltenen Eingangsdaten", b: "geschätzt; aus teilweise geheim gehaltenen Eingangsdaten" };
  // Colour ramps with monotonic lightness (readable with every kind of colour-vision deficiency).
  // Dark is always the unfavourable end: the ramp is reversed for indicators where higher is better.
  var RAMP_WARM = ["#fcf3c1", "#f6b26b", "#d6604d", "#8c2d6e", "#3b0f4f"];
  var RAMP_COOL = ["#eef5fb", "#9ecae1", "#4a90c2", "#1d5a9e", "#0b2e5e"];
  // Status (rows: hoch … sehr niedrig) × dynamics (columns: positiv, stabil, negativ)
  var MATRIX = {
    positiv: ["#deebf7", "#9ecae1", "#4292c6", "#08519c"],
    stabil: ["#f7f4e1", "#e0cf8e", "#b8963e", "#6b4f10"],
    negativ: ["#fee0d2", "#fc9272", "#de2d26", "#7a0c0c"],
    "–": ["#f0f0f0", "#bdbdbd", "#8c8c8c", "#525252"] // status without dynamics (too short a series)
  };
  var STATUS = ["hoch", "mittel", "niedrig", "sehr niedrig"];
  var DYNAMICS = ["positiv", "stabil", "negativ"];
  var LINE_COLOURS = ["#0b5cad", "#b3361b", "#1b7a3a", "#7a3aa6", "#8a6100", "#00787a", "#a3306b", "#4d4d4d"];

  var indicators = {};
  D.indicators.forEach(function (i) { indicators[i.id] = i; });
  var levels = {};
  D.levels.forEach(function (l) { levels[l.id] = l; });
  var mapLevels = D.levels.filter(function (l) { return l.map; });
  var signText = {};
  D.signs.forEach(function (s) { signText[s[0]] = s[1]; });

  var state = {
    mode: "kennzahl", level: mapLevels.length ? mapLevels[Math.min(1, mapLevels.length - 1)].id : D.levels[0].id,
    indicator: null, t: D.stichtage.length - 1, method: "quantile", k: 5, selected: [], focus: null,
    view: "tabelle", y: null, index: 0, sort: { col: "wert", dir: -1 }
  };
  var playing = null;
  var mapPaths = {};
  var mapLevelDrawn = null;
  var current = null; // what the map shows now: {ids, names, values, codes, colours, ...}

  // ---------- formatting (German) ----------
  function fmt(v, decimals) {
    if (v === null || v === undefined) return "";
    var neg = v < 0;
    var s = Math.abs(v).toFixed(decimals);
    var parts = s.split(".");
    var int = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ".");
    var out = parts.length > 1 ? int + "," + parts[1] : int;
    if (neg && /[1-9]/.test(out)) out = "-" + out;
    return out;
  }
  function unitSuffix(unit) {
    if (!unit || unit === "Anzahl") return "";
    return unit === "%" ? "\u00a0%" : "\u00a0" + unit;
  }
  function fmtValue(v, ind) { return fmt(v, ind.decimals) + unitSuffix(ind.unit); }
  function exact(v) { // the published number, as the German CSV writes it
    if (v === null || v === undefined) return "";
    return String(v).replace(".", ",");
  }
  function dayDe(iso) { var p = iso.split("-"); return p[2] + "." + p[1] + "." + p[0]; }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function say(text) { $("meldung").textContent = text; }

  // ---------- data access ----------
  function areas(level) { return D.geo.areas[level]; }
  function series(level, ind) { return (D.values[level] || {})[ind]; }
  function cell(level, ind, t, i) {
    var s = series(level, ind);
    if (!s) return { v: null, n: null, d: null, c: "." };
    return { v: s.v[t][i], n: s.n[t][i], d: s.d ? s.d[t][i] : null, c: s.c[t].charAt(i) };
  }
  function cityCell(ind, t) {
    if (!D.city) return null;
    var c = cell(D.city.level, ind, t, 0);
    return c;
  }
  function available(level) {
    return D.indicators.filter(function (i) { return series(level, i.id); });
  }
  function noteOf(c) {
    if (c.v !== null) return CODE_TEXT[c.c] || "";
    return c.c + " " + (signText[c.c] || "");
  }
  function shortReason(code) {
    var words = { "\u2022": "geheim gehalten", "/": "zu wenige Einwohner", "x": "nicht sinnvoll", ".": "unbekannt" };
    return words[code] || "";
  }

  // ---------- classing ----------
  function sortedNumbers(values) {
    return values.filter(function (v) { return v !== null; }).sort(function (a, b) { return a - b; });
  }
  function uniq(xs) {
    return xs.filter(function (x, i) { return i === 0 || x !== xs[i - 1]; });
  }
  function jenks(data, k) {
    var n = data.length;
    if (n <= k) return uniq(data.slice(1));
    var lower = [], variance = [], i, j, m;
    for (i = 0; i <= n; i++) {
      lower.push(new Array(k + 1).fill(0));
      variance.push(new Array(k + 1).fill(i === 0 ? 0 : Infinity));
    }
    for (j = 1; j <= k; j++) { lower[1][j] = 1; variance[1][j] = 0; }
    for (i = 2; i <= n; i++) {
      var s1 = 0, s2 = 0, w = 0, v = 0;
      for (m = 1; m <= i; m++) {
        var lo = i - m + 1, val = data[lo - 1];
        s2 += val * val; s1 += val; w++;
        v = s2 - (s1 * s1) / w;
        if (lo > 1) {
          for (j = 2; j <= k; j++) {
            if (variance[i][j] >= v + variance[lo - 1][j - 1]) {
              lower[i][j] = lo; variance[i][j] = v + variance[lo - 1][j - 1];
            }
          }
        }
      }
      lower[i][1] = 1; variance[i][1] = v;
    }
    var breaks = [], at = n;
    for (j = k; j >= 2; j--) { var id = lower[at][j] - 1; breaks.unshift(data[id]); at = id; }
    return uniq(breaks);
  }
  function classBreaks(values, method, k, ind) {
    var xs = sortedNumbers(values);
    if (!xs.length) return [];
    if (method === "katalog" && ind.breaks) return ind.breaks.slice();
    var min = xs[0], max = xs[xs.length - 1], out = [], i;
    if (min === max) return [];
    if (method === "gleich") {
      for (i = 1; i < k; i++) out.push(min + (i * (max - min)) / k);
      return out;
    }
    if (method === "jenks") return jenks(xs, k);
    for (i = 1; i < k; i++) out.push(xs[Math.floor((i * xs.length) / k)]);
    return uniq(out).filter(function (b) { return b > min; });
  }
  function classOf(v, breaks) {
    var c = 0;
    while (c < breaks.length && v >= breaks[c]) c++;
    return c;
  }
  function hexToRgb(h) { return [1, 3, 5].map(function (i) { return parseInt(h.substr(i, 2), 16); }); }
  function rampColours(anchors, k) {
    if (k === 1) return [anchors[2]];
    var out = [];
    for (var i = 0; i < k; i++) {
      var pos = (i / (k - 1)) * (anchors.length - 1), lo = Math.floor(pos), hi = Math.min(lo + 1, anchors.length - 1);
      var f = pos - lo, a = hexToRgb(anchors[lo]), b = hexToRgb(anchors[hi]);
      out.push("#" + a.map(function (x, j) {
        return ("0" + Math.round(x + (b[j] - x) * f).toString(16)).slice(-2);
      }).join(""));
    }
    return out;
  }
  function coloursFor(ind, k) {
    if (ind.direction === "neutral") return rampColours(RAMP_COOL, k);
    var c = rampColours(RAMP_WARM, k);
    return ind.direction === "higher_is_better" ? c.reverse() : c;
  }
  function fillOf(code) { return WITHHELD[code] ? "url(#schraffur)" : "#d9d9d9"; }

  // ---------- the model of the current view ----------
  function currentIndex() { return D.indices[state.index]; }
  function indexT(ix) {
    var day = D.stichtage[state.t], t = ix.stichtage.indexOf(day);
    return t >= 0 ? t : ix.stichtage.length - 1;
  }
  function compute() {
    if (state.mode === "index" && D.indices.length) return computeIndex();
    var level = state.level, ind = indicators[state.indicator], a = areas(level), n = a.ids.length;
    var cells = [], values = [];
    for (var i = 0; i < n; i++) { var c = cell(level, ind.id, state.t, i); cells.push(c); values.push(c.v); }
    var method = state.method === "katalog" && !ind.breaks ? "quantile" : state.method;
    var breaks = classBreaks(values, method, state.k, ind);
    var colours = coloursFor(ind, breaks.length + 1);
    var fills = cells.map(function (c) { return c.v === null ? fillOf(c.c) : colours[classOf(c.v, breaks)]; });
    var counts = colours.map(function () { return 0; });
    cells.forEach(function (c) { if (c.v !== null) counts[classOf(c.v, breaks)]++; });
    return { kind: "kennzahl", level: level, ind: ind, ids: a.ids, names: a.names, cells: cells, values: values,
      breaks: breaks, colours: colours, fills: fills, counts: counts, method: method };
  }
  function computeIndex() {
    var ix = currentIndex(), level = ix.level, a = areas(level), t = indexT(ix), n = a.ids.length, fills = [], labels = [];
    var counts = {};
    if (ix.kind === "status_dynamics") {
      for (var i = 0; i < n; i++) {
        var s = ix.status[t][i], d = ix.dynamics[t][i] === null ? "–" : ix.dynamics[t][i], key;
        if (s === null || STATUS.indexOf(s) < 0 || !MATRIX[d]) {
          fills.push("url(#nicht-indexiert)"); key = "nicht indexiert"; labels.push("nicht indexiert");
        } else {
          fills.push(MATRIX[d][STATUS.indexOf(s)]); key = s + "|" + d;
          labels.push("Status " + s + ", Dynamik " + (d === "–" ? "nicht berechnet" : d));
        }
        counts[key] = (counts[key] || 0) + 1;
      }
      return { kind: "status_dynamics", ix: ix, t: t, level: level, ids: a.ids, names: a.names, fills: fills, labels: labels, counts: counts };
    }
    var values = ix.value.gesamt[t];
    var pseudo = { id: "gesamt", unit: "", decimals: 2, direction: "lower_is_better" };
    var breaks = classBreaks(values, "quantile", 5, pseudo);
    var colours = coloursFor(pseudo, breaks.length + 1);
    values.forEach(function (v) { fills.push(v === null ? "url(#nicht-indexiert)" : colours[classOf(v, breaks)]); });
    return { kind: "composite", ix: ix, t: t, level: level, ids: a.ids, names: a.names, fills: fills, values: values,
      breaks: breaks, colours: colours };
  }

  // ---------- controls ----------
  function option(sel, value, text) { var o = el("option", { value: value }, text); sel.appendChild(o); return o; }
  function fillControls() {
    var lev = $("ebene"); lev.innerHTML = "";
    mapLevels.forEach(function (l) { option(lev, l.id, l.name); });
    lev.value = state.level;
    var list = available(state.level);
    if (!indicators[state.indicator] || !series(state.level, state.indicator)) state.indicator = list.length ? list[0].id : null;
    var topics = [];
    list.forEach(function (i) { if (topics.indexOf(i.topic) < 0) topics.push(i.topic); });
    var th = $("thema"); th.innerHTML = "";
    topics.forEach(function (t) { option(th, t, t); });
    var ind = indicators[state.indicator];
    th.value = ind.topic;
    var ks = $("kennzahl"); ks.innerHTML = "";
    list.filter(function (i) { return i.topic === ind.topic; }).forEach(function (i) { option(ks, i.id, i.name + " (" + i.unit + ")"); });
    ks.value = state.indicator;
    var st = $("stichtag"); st.innerHTML = "";
    D.stichtage.forEach(function (d, i) { option(st, String(i), dayDe(d)); });
    st.value = String(state.t);
    var r = $("zeitregler"); r.max = String(D.stichtage.length - 1); r.value = String(state.t);
    r.setAttribute("aria-valuetext", dayDe(D.stichtage[state.t]));
    $("klassen").value = state.method;
    $("klassen").querySelector('option[value="katalog"]').disabled = !ind.breaks;
    $("anzahl").value = String(state.k);
    var ix = $("index"); ix.innerHTML = "";
    D.indices.forEach(function (x, i) { option(ix, String(i), x.name + " – " + levels[x.level].name); });
    ix.value = String(state.index);
    $("modus-index").disabled = !D.indices.length;
    $("modus-kennzahl").setAttribute("aria-pressed", String(state.mode === "kennzahl"));
    $("modus-index").setAttribute("aria-pressed", String(state.mode === "index"));
    document.body.classList.toggle("indexmodus", state.mode === "index");
  }

  // ---------- map ----------
  function drawMap(level) {
    var box = $("karte"); box.innerHTML = "";
    var a = areas(level);
    var root = svg("svg", { viewBox: "0 0 " + D.geo.width + " " + D.geo.height, id: "kartensvg", role: "group",
      "aria-label": "Karte der Gebiete: " + levels[level].plural, preserveAspectRatio: "xMidYMid meet" });
    var defs = svg("defs");
    [["schraffur", "#6b6b6b", "#ffffff"], ["nicht-indexiert", "#8c8c8c", "#f2f2f2"]].forEach(function (p) {
      var pat = svg("pattern", { id: p[0], patternUnits: "userSpaceOnUse", width: "60", height: "60", patternTransform: "rotate(45)" });
      pat.appendChild(svg("rect", { width: "60", height: "60", fill: p[2] }));
      pat.appendChild(svg("line", { x1: "0", y1: "0", x2: "0", y2: "60", stroke: p[1], "stroke-width": "22" }));
      defs.appendChild(pat);
    });
    root.appendChild(defs);
    var g = svg("g", { "stroke-linejoin": "round" });
    mapPaths = {};
    a.ids.forEach(function (id, i) {
      var p = svg("path", { d: a.paths[i], "data-id": id, tabindex: "0", role: "button", "fill-rule": "evenodd",
        stroke: "#ffffff", "stroke-width": "0.7", "vector-effect": "non-scaling-stroke" }); // screen pixels
      p.setAttribute("aria-label", a.names[i]);
      g.appendChild(p);
      mapPaths[id] = p;
    });
    root.appendChild(g);
    box.appendChild(root);
    mapLevelDrawn = level;
    root.addEventListener("mousemove", function (ev) {
      var id = ev.target.getAttribute && ev.target.getAttribute("data-id");
      if (id) showTip(id, ev.clientX, ev.clientY); else hideTip();
    });
    root.addEventListener("mouseleave", hideTip);
    root.addEventListener("click", function (ev) {
      var id = ev.target.getAttribute && ev.target.getAttribute("data-id");
      if (id) choose(id, ev.shiftKey || ev.ctrlKey || ev.metaKey);
    });
    root.addEventListener("focusin", function (ev) {
      var id = ev.target.getAttribute && ev.target.getAttribute("data-id");
      if (id) { var r = ev.target.getBoundingClientRect(); showTip(id, r.left + r.width / 2, r.top + r.height / 2); }
    });
    root.addEventListener("focusout", hideTip);
    root.addEventListener("keydown", function (ev) {
      var id = ev.target.getAttribute && ev.target.getAttribute("data-id");
      if (id && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); choose(id, ev.shiftKey); }
    });
  }
  function paintMap() {
    if (mapLevelDrawn !== current.level) drawMap(current.level);
    current.ids.forEach(function (id, i) {
      var p = mapPaths[id];
      p.setAttribute("fill", current.fills[i]);
      var sel = state.selected.indexOf(id) >= 0;
      p.classList.toggle("gewaehlt", sel);
      p.setAttribute("aria-pressed", String(sel));
      p.setAttribute("aria-label", current.names[i] + ": " + plainValue(i));
    });
    // selected areas on top so that their outline shows (moving an element drops its focus: restore it)
    var active = document.activeElement;
    state.selected.forEach(function (id) { var p = mapPaths[id]; if (p && p.nextSibling) p.parentNode.appendChild(p); });
    if (active && active !== document.activeElement && active.isConnected) active.focus();
  }
  function plainValue(i) {
    if (current.kind === "kennzahl") {
      var c = current.cells[i];
      return c.v === null ? c.c + " " + shortReason(c.c) : fmtValue(c.v, current.ind) + (CODE_TEXT[c.c] ? " (" + CODE_TEXT[c.c] + ")" : "");
    }
    if (current.kind === "status_dynamics") return current.labels[i];
    var v = current.values[i];
    return v === null ? "nicht indexiert" : "Indexwert " + fmt(v, 2);
  }
  function tipHtml(i) {
    var name = current.names[i], id = current.ids[i], h = "<strong>" + esc(name) + "</strong> <span class=\"klein\">(" + esc(id) + ")</span><br>";
    if (current.kind === "kennzahl") {
      var ind = current.ind, c = current.cells[i];
      h += esc(ind.name) + ": ";
      if (c.v === null) {
        h += "<span class=\"wert\">" + esc(c.c) + "</span> " + esc(signText[c.c] || "");
      } else {
        h += "<span class=\"wert\">" + esc(fmtValue(c.v, ind)) + "</span>";
        if (CODE_TEXT[c.c]) h += " <em>(" + esc(CODE_TEXT[c.c]) + ")</em>";
        if (c.n !== null) h += "<br>Zähler: <span class=\"zaehler\">" + esc(fmt(c.n, 0)) + "</span>";
        if (c.d !== null) h += " · Nenner: <span class=\"nenner\">" + esc(fmt(c.d, 0)) + "</span>";
      }
      var city = cityCell(ind.id, state.t);
      if (city && city.v !== null) h += "<br>" + esc(D.city.name) + " insgesamt: " + esc(fmtValue(city.v, ind));
      return h;
    }
    var ix = current.ix, t = current.t;
    if (current.kind === "status_dynamics") {
      if (ix.status[t][i] === null) return h + "nicht indexiert" + (ix.reason[t][i] ? ": " + esc(reasonDe(ix.reason[t][i])) : "");
      return h + "Status: " + esc(ix.status[t][i]) + " (z = " + esc(fmt(ix.status_z[t][i], 2)) + ")<br>Dynamik: " +
        (ix.dynamics[t][i] === null ? "nicht berechnet (zu kurze Zeitreihe)" : esc(ix.dynamics[t][i]) + " (z = " + esc(fmt(ix.dynamics_z[t][i], 2)) + ")");
    }
    if (ix.value.gesamt[t][i] === null) return h + "nicht indexiert" + (ix.reason[t][i] ? ": " + esc(reasonDe(ix.reason[t][i])) : "");
    return h + "Indexwert: " + esc(fmt(ix.value.gesamt[t][i], 2)) + "<br>Rang " + esc(fmt(ix.rank[t][i], 0)) +
      (ix.rank_p05[t][i] !== null ? " (Rangband " + esc(fmt(ix.rank_p05[t][i], 0)) + "–" + esc(fmt(ix.rank_p95[t][i], 0)) + ")" : "");
  }
  function reasonDe(r) {
    var words = { small_population: "zu wenige Einwohner", population_below_minimum: "weniger Einwohner als die Mindestzahl", excluded: "ausgeschlossen (Ausschlussliste)",
      too_many_missing: "zu viele fehlende Kennzahlen", missing_inputs: "fehlende Eingangswerte",
      crosses_gemeinde_border: "liegt in mehreren Gemeinden (nur kreisweit indexiert)",
      not_indexable_within_gemeinde: "in der eigenen Gemeinde nicht standardisierbar (zu wenige Gebiete)" };
    return words[r] || r;
  }
  function showTip(id, x, y) {
    var i = current.ids.indexOf(id);
    if (i < 0) return;
    var tip = $("tooltip");
    tip.innerHTML = tipHtml(i);
    tip.hidden = false;
    tip.dataset.id = id;
    var w = tip.offsetWidth, hgt = tip.offsetHeight;
    var left = Math.min(x + 14, window.innerWidth - w - 8), top = y + 14;
    if (top + hgt > window.innerHeight - 8) top = Math.max(8, y - hgt - 14);
    tip.style.left = Math.max(8, left) + "px";
    tip.style.top = top + "px";
  }
  function hideTip() { $("tooltip").hidden = true; }

  function legend() {
    var box = $("legende"); box.innerHTML = "";
    if (current.kind === "status_dynamics") return matrixLegend(box);
    var title = current.kind === "kennzahl" ? current.ind.name + " (" + current.ind.unit + ")" : current.ix.name + ": Indexwert (Quintile; dunkler = höherer Handlungsbedarf)";
    box.appendChild(el("p", { "class": "legendentitel" }, title));
    var list = el("ul", { "class": "klassen" });
    var dec = current.kind === "kennzahl" ? current.ind.decimals : 2;
    current.colours.forEach(function (col, c) {
      var lo = c === 0 ? null : current.breaks[c - 1], hi = c < current.breaks.length ? current.breaks[c] : null, text;
      if (lo === null && hi === null) text = "alle Werte";
      else if (lo === null) text = "unter " + fmt(hi, dec);
      else if (hi === null) text = fmt(lo, dec) + " und mehr";
      else text = fmt(lo, dec) + " bis unter " + fmt(hi, dec);
      var li = el("li", { "data-klasse": String(c) });
      li.appendChild(swatch(col));
      li.appendChild(document.createTextNode(text + (current.counts ? " (" + current.counts[c] + ")" : "")));
      list.appendChild(li);
    });
    if (current.kind === "kennzahl") {
      var seen = {};
      current.cells.forEach(function (cl) { if (cl.v === null) seen[cl.c] = (seen[cl.c] || 0) + 1; });
      Object.keys(seen).sort().forEach(function (code) {
        var li = el("li", { "class": "ohnewert", "data-zeichen": code });
        li.appendChild(swatch(fillOf(code)));
        li.appendChild(document.createTextNode(code + " " + shortReason(code) + " (" + seen[code] + ")"));
        li.title = signText[code] || "";
        list.appendChild(li);
      });
      var est = current.cells.filter(function (cl) { return cl.v !== null && cl.c !== "0"; }).length;
      if (est) list.appendChild(el("li", { "class": "hinweis" }, est + " Werte geschätzt oder aus teilweise geheim gehaltenen Eingangsdaten (im Hinweis gekennzeichnet)"));
      var dir = el("li", { "class": "hinweis" }, "Richtung: " + current.ind.direction_de + (current.ind.direction !== "neutral" ? " (dunkel = ungünstiger)" : ""));
      list.appendChild(dir);
    } else {
      var li2 = el("li", { "class": "ohnewert" });
      li2.appendChild(swatch("url(#nicht-indexiert)"));
      li2.appendChild(document.createTextNode("nicht indexiert"));
      list.appendChild(li2);
    }
    box.appendChild(list);
  }
  function swatch(fill) {
    var s = svg("svg", { width: "22", height: "16", "aria-hidden": "true", "class": "muster" });
    var r = svg("rect", { width: "22", height: "16", fill: fill, stroke: "#555" });
    if (fill.indexOf("url(") === 0) {
      // patterns live in the map's svg; the swatch draws its own hatching
      var withheld = fill === "url(#schraffur)" || fill === "url(#nicht-indexiert)";
      r.setAttribute("fill", "#ffffff");
      s.appendChild(r);
      if (withheld) [0, 8, 16, 24].forEach(function (x) { s.appendChild(svg("line", { x1: String(x - 8), y1: "16", x2: String(x + 8), y2: "0", stroke: "#6b6b6b", "stroke-width": "2.5" })); });
      return s;
    }
    s.appendChild(r);
    return s;
  }
  function matrixLegend(box) {
    box.appendChild(el("p", { "class": "legendentitel" }, current.ix.name + ": Status (Zeilen) und Dynamik (Spalten)"));
    var tab = el("table", { "class": "matrix" });
    var cols = DYNAMICS.slice();
    if (STATUS.some(function (s) { return current.counts[s + "|–"]; })) cols.push("–");
    var head = el("tr"); head.appendChild(el("th", { scope: "col" }, "Status \\ Dynamik"));
    cols.forEach(function (d) { head.appendChild(el("th", { scope: "col" }, d === "–" ? "nicht berechnet" : d)); });
    tab.appendChild(head);
    STATUS.forEach(function (s, si) {
      var tr = el("tr"); tr.appendChild(el("th", { scope: "row" }, s));
      cols.forEach(function (d) {
        var td = el("td", { "data-gruppe": s + "|" + d, "data-farbe": MATRIX[d][si] });
        td.appendChild(swatch(MATRIX[d][si]));
        td.appendChild(document.createTextNode(" " + (current.counts[s + "|" + d] || 0)));
        tr.appendChild(td);
      });
      tab.appendChild(tr);
    });
    box.appendChild(tab);
    var p = el("p", { "class": "ohnewert", "data-gruppe": "nicht indexiert" });
    p.appendChild(swatch("url(#nicht-indexiert)"));
    p.appendChild(document.createTextNode(" nicht indexiert (" + (current.counts["nicht indexiert"] || 0) + ")"));
    box.appendChild(p);
  }
  function cityLine() {
    var box = $("stadtwert");
    if (current.kind !== "kennzahl" || !D.city) { box.textContent = current.kind === "kennzahl" ? "" : current.ix.name + ", Stichtag " + dayDe(current.ix.stichtage[current.t]); return; }
    var c = cityCell(current.ind.id, state.t);
    box.textContent = current.ind.name + ", " + levels[current.level].plural + ", Stichtag " + dayDe(D.stichtage[state.t]) +
      (c && c.v !== null ? " · " + D.city.name + " insgesamt: " + fmtValue(c.v, current.ind) : "");
  }

  // ---------- selection ----------
  function choose(id, add) {
    var at = state.selected.indexOf(id);
    if (add) { if (at >= 0) state.selected.splice(at, 1); else state.selected.push(id); }
    else if (at >= 0 && state.selected.length === 1) state.selected = [];
    else state.selected = [id];
    state.focus = id;
    update();
  }

  // ---------- views ----------
  function tableRows() {
    var rows = current.ids.map(function (id, i) { return { i: i, id: id, name: current.names[i] }; });
    var col = state.sort.col, dir = state.sort.dir;
    function key(r) {
      if (col === "nr") return r.id;
      if (col === "name") return r.name;
      if (current.kind === "kennzahl") return current.cells[r.i].v;
      if (current.kind === "composite") return current.values[r.i];
      return current.ix.status_z[current.t][r.i];
    }
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === null && y === null) return a.id < b.id ? -1 : 1;
      if (x === null) return 1;
      if (y === null) return -1;
      if (x < y) return -dir;
      if (x > y) return dir;
      return a.id < b.id ? -1 : 1;
    });
    return rows;
  }
  function tableColumns() {
    if (current.kind === "kennzahl") return [["nr", "Gebiets-Nr."], ["name", "Gebiet"], ["wert", "Wert (" + current.ind.unit + ")"], ["zaehler", "Zähler"], ["nenner", "Nenner"], ["hinweis", "Hinweis"]];
    if (current.kind === "status_dynamics") return [["nr", "Gebiets-Nr."], ["name", "Gebiet"], ["wert", "Status (z)"], ["status", "Statusklasse"], ["dynamik", "Dynamikklasse"], ["hinweis", "Hinweis"]];
    return [["nr", "Gebiets-Nr."], ["name", "Gebiet"], ["wert", "Indexwert"], ["rang", "Rang"], ["band", "Rangband (5–95 %)"], ["hinweis", "Hinweis"]];
  }
  function tableCells(i) {
    if (current.kind === "kennzahl") {
      var c = current.cells[i], ind = current.ind;
      return c.v === null ? [c.c, c.c, c.c, noteOf(c)] : [fmt(c.v, ind.decimals), c.n === null ? "x" : fmt(c.n, 0), c.d === null ? "x" : fmt(c.d, 0), noteOf(c)];
    }
    var ix = current.ix, t = current.t;
    if (current.kind === "status_dynamics") {
      if (ix.status[t][i] === null) return ["", "", "", "nicht indexiert" + (ix.reason[t][i] ? ": " + reasonDe(ix.reason[t][i]) : "")];
      return [fmt(ix.status_z[t][i], 2), ix.status[t][i], ix.dynamics[t][i] === null ? "–" : ix.dynamics[t][i], ix.dynamics[t][i] === null ? "Dynamik nicht berechnet (zu kurze Zeitreihe)" : ""];
    }
    if (ix.value.gesamt[t][i] === null) return ["", "", "", "nicht indexiert" + (ix.reason[t][i] ? ": " + reasonDe(ix.reason[t][i]) : "")];
    return [fmt(ix.value.gesamt[t][i], 2), fmt(ix.rank[t][i], 0), ix.rank_p05[t][i] === null ? "" : fmt(ix.rank_p05[t][i], 0) + "–" + fmt(ix.rank_p95[t][i], 0), ""];
  }
  function renderTable() {
    var box = $("tabelle"); box.innerHTML = "";
    var caption = current.kind === "kennzahl" ? current.ind.name + " nach " + levels[current.level].plural + ", Stichtag " + dayDe(D.stichtage[state.t])
      : current.ix.name + " nach " + levels[current.level].plural + ", Stichtag " + dayDe(current.ix.stichtage[current.t]);
    var tab = el("table", { "class": "daten", id: "datentabelle" });
    tab.appendChild(el("caption", null, caption));
    var thead = el("thead"), hr = el("tr");
    tableColumns().forEach(function (c) {
      var th = el("th", { scope: "col" });
      if (["nr", "name", "wert"].indexOf(c[0]) >= 0) {
        var b = el("button", { type: "button", "data-sort": c[0] }, c[1]);
        if (state.sort.col === c[0]) th.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
        th.appendChild(b);
      } else th.textContent = c[1];
      hr.appendChild(th);
    });
    thead.appendChild(hr); tab.appendChild(thead);
    var body = el("tbody");
    tableRows().forEach(function (r) {
      var tr = el("tr", { "data-id": r.id });
      if (state.selected.indexOf(r.id) >= 0) tr.className = "gewaehlt";
      tr.appendChild(el("td", null, r.id));
      var name = el("td"), b = el("button", { type: "button", "class": "link", "data-id": r.id }, r.name);
      name.appendChild(b); tr.appendChild(name);
      tableCells(r.i).forEach(function (v, k) { tr.appendChild(el("td", { "class": k < 3 ? "zahl" : "" }, v)); });
      body.appendChild(tr);
    });
    tab.appendChild(body);
    if (current.kind === "kennzahl" && D.city) {
      var c = cityCell(current.ind.id, state.t), foot = el("tfoot"), tr = el("tr", { "data-id": D.city.id });
      tr.appendChild(el("td", null, D.city.id));
      tr.appendChild(el("td", null, D.city.name + " insgesamt"));
      var vals = c.v === null ? [c.c, c.c, c.c, noteOf(c)] : [fmt(c.v, current.ind.decimals), c.n === null ? "x" : fmt(c.n, 0), c.d === null ? "x" : fmt(c.d, 0), noteOf(c)];
      vals.forEach(function (v, k) { tr.appendChild(el("td", { "class": k < 3 ? "zahl" : "" }, v)); });
      foot.appendChild(tr); tab.appendChild(foot);
    }
    var wrap = el("div", { "class": "scroll" }); wrap.appendChild(tab); box.appendChild(wrap);
  }
  function chartFrame(w, h, label) {
    return svg("svg", { viewBox: "0 0 " + w + " " + h, width: "100%", role: "img", "aria-label": label, "class": "diagramm" });
  }
  function text(parent, x, y, s, attrs) {
    var t = svg("text", Object.assign({ x: String(x), y: String(y) }, attrs || {}));
    t.textContent = s; parent.appendChild(t); return t;
  }
  function renderRanking() {
    var box = $("rang"); box.innerHTML = "";
    if (current.kind !== "kennzahl") { box.appendChild(el("p", null, "Die Rangfolge zeigt eine Kennzahl: zur Ansicht Kennzahlen wechseln.")); return; }
    var ind = current.ind, rows = current.ids.map(function (id, i) { return { id: id, name: current.names[i], v: current.cells[i].v }; })
      .filter(function (r) { return r.v !== null; }).sort(function (a, b) { return b.v - a.v || (a.id < b.id ? -1 : 1); });
    var bar = 16, w = 720, left = 230, h = rows.length * bar + 40;
    var max = Math.max.apply(null, rows.map(function (r) { return r.v; }).concat([0]));
    var min = Math.min.apply(null, rows.map(function (r) { return r.v; }).concat([0]));
    var span = max - min || 1, scale = function (v) { return left + ((v - min) / span) * (w - left - 70); };
    var s = chartFrame(w, h, "Rangfolge der Gebiete: " + ind.name);
    rows.forEach(function (r, k) {
      var y = 20 + k * bar, sel = state.selected.indexOf(r.id) >= 0;
      text(s, left - 6, y + 12, r.name, { "text-anchor": "end", "class": sel ? "fett" : "" });
      s.appendChild(svg("rect", { x: String(Math.min(scale(0), scale(r.v))), y: String(y + 2), width: String(Math.max(1, Math.abs(scale(r.v) - scale(0)))), height: String(bar - 4), fill: sel ? "#0b5cad" : "#8fa9c4", "data-id": r.id }));
      text(s, Math.max(scale(0), scale(r.v)) + 4, y + 12, fmt(r.v, ind.decimals));
    });
    var c = cityCell(ind.id, state.t);
    if (c && c.v !== null) {
      s.appendChild(svg("line", { x1: String(scale(c.v)), x2: String(scale(c.v)), y1: "14", y2: String(h - 14), stroke: "#1a1a1a", "stroke-dasharray": "4 3" }));
      text(s, scale(c.v) + 3, 12, D.city.name + ": " + fmtValue(c.v, ind));
    }
    box.appendChild(el("p", { "class": "klein" }, rows.length + " Gebiete mit Wert, absteigend; die gestrichelte Linie ist der Wert der Stadt. Gebiete ohne Wert fehlen hier und stehen in der Tabelle."));
    box.appendChild(s);
  }
  function renderSeries() {
    var box = $("zeit"); box.innerHTML = "";
    if (current.kind !== "kennzahl") { box.appendChild(el("p", null, "Die Zeitreihe zeigt eine Kennzahl: zur Ansicht Kennzahlen wechseln.")); return; }
    var ind = current.ind, level = current.level, a = areas(level), T = D.stichtage.length;
    var lines = state.selected.slice(0, LINE_COLOURS.length).map(function (id, k) {
      var i = a.ids.indexOf(id);
      return { name: a.names[i], colour: LINE_COLOURS[k], cells: D.stichtage.map(function (_d, t) { return cell(level, ind.id, t, i); }) };
    }).filter(function (l) { return l.name !== undefined; });
    if (D.city) lines.push({ name: D.city.name + " insgesamt", colour: "#1a1a1a", dash: "6 4", cells: D.stichtage.map(function (_d, t) { return cityCell(ind.id, t); }) });
    var all = [];
    lines.forEach(function (l) { l.cells.forEach(function (c) { if (c.v !== null) all.push(c.v); }); });
    if (!state.selected.length) box.appendChild(el("p", { "class": "klein" }, "Gebiete in der Karte oder Tabelle auswählen (mit Umschalt weitere hinzufügen), um ihre Entwicklung mit der Stadt zu vergleichen."));
    if (!all.length) { box.appendChild(el("p", null, "Keine Werte.")); return; }
    var w = 720, h = 320, l0 = 70, r0 = 20, t0 = 20, b0 = 40;
    var lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
    if (lo === hi) { lo -= 1; hi += 1; }
    var pad = (hi - lo) * 0.08; lo -= pad; hi += pad;
    var x = function (t) { return l0 + (T === 1 ? (w - l0 - r0) / 2 : (t * (w - l0 - r0)) / (T - 1)); };
    var y = function (v) { return t0 + (1 - (v - lo) / (hi - lo)) * (h - t0 - b0); };
    var s = chartFrame(w, h, "Zeitreihe " + ind.name);
    for (var k = 0; k <= 4; k++) {
      var v = lo + (k * (hi - lo)) / 4;
      s.appendChild(svg("line", { x1: String(l0), x2: String(w - r0), y1: String(y(v)), y2: String(y(v)), stroke: "#dddddd" }));
      text(s, l0 - 6, y(v) + 4, fmt(v, ind.decimals), { "text-anchor": "end" });
    }
    D.stichtage.forEach(function (d, t) { text(s, x(t), h - 16, d.slice(0, 4), { "text-anchor": "middle", "class": t === state.t ? "fett" : "" }); });
    lines.forEach(function (l) {
      var dpath = "", pen = false;
      l.cells.forEach(function (c, t) {
        if (c.v === null) { pen = false; return; }
        dpath += (pen ? "L" : "M") + x(t).toFixed(1) + " " + y(c.v).toFixed(1); pen = true;
      });
      var p = svg("path", { d: dpath, fill: "none", stroke: l.colour, "stroke-width": "2.5" });
      if (l.dash) p.setAttribute("stroke-dasharray", l.dash);
      s.appendChild(p);
      l.cells.forEach(function (c, t) {
        if (c.v === null) return;
        var est = c.c !== "0";
        s.appendChild(svg("circle", { cx: String(x(t)), cy: String(y(c.v)), r: "4", fill: est ? "#ffffff" : l.colour, stroke: l.colour, "stroke-width": "2" }));
      });
    });
    box.appendChild(s);
    var key = el("ul", { "class": "schluessel" });
    lines.forEach(function (l) {
      var li = el("li"); var sw = el("span", { "class": "strich" }); sw.style.borderColor = l.colour;
      if (l.dash) sw.style.borderStyle = "dashed";
      li.appendChild(sw); li.appendChild(document.createTextNode(l.name)); key.appendChild(li);
    });
    key.appendChild(el("li", null, "○ offener Punkt: geschätzt oder aus teilweise geheim gehaltenen Eingangsdaten"));
    box.appendChild(key);
  }
  function renderScatter() {
    var box = $("streu"); box.innerHTML = "";
    if (current.kind !== "kennzahl") { box.appendChild(el("p", null, "Das Streudiagramm zeigt zwei Kennzahlen: zur Ansicht Kennzahlen wechseln.")); return; }
    var level = current.level, list = available(level), ind = current.ind;
    if (!state.y || !series(level, state.y)) state.y = (list.filter(function (i) { return i.id !== ind.id; })[0] || ind).id;
    var f = el("div", { "class": "feld" }), lab = el("label", { "for": "y-kennzahl" }, "Zweite Kennzahl (senkrechte Achse)"), sel = el("select", { id: "y-kennzahl" });
    list.forEach(function (i) { option(sel, i.id, i.name + " (" + i.unit + ")"); });
    sel.value = state.y;
    sel.addEventListener("change", function () { state.y = sel.value; update(); });
    f.appendChild(lab); f.appendChild(sel); box.appendChild(f);
    var yi = indicators[state.y], pts = [];
    current.ids.forEach(function (id, i) {
      var a = cell(level, ind.id, state.t, i), b = cell(level, yi.id, state.t, i);
      if (a.v !== null && b.v !== null) pts.push({ id: id, name: current.names[i], x: a.v, y: b.v });
    });
    if (pts.length < 2) { box.appendChild(el("p", null, "Zu wenige Gebiete mit beiden Werten.")); return; }
    var w = 720, h = 420, l0 = 70, r0 = 20, t0 = 20, b0 = 50;
    var xs = pts.map(function (p) { return p.x; }), ys = pts.map(function (p) { return p.y; });
    var xl = Math.min.apply(null, xs), xh = Math.max.apply(null, xs), yl = Math.min.apply(null, ys), yh = Math.max.apply(null, ys);
    if (xl === xh) { xl -= 1; xh += 1; } if (yl === yh) { yl -= 1; yh += 1; }
    var X = function (v) { return l0 + ((v - xl) / (xh - xl)) * (w - l0 - r0); }, Y = function (v) { return t0 + (1 - (v - yl) / (yh - yl)) * (h - t0 - b0); };
    var s = chartFrame(w, h, "Streudiagramm " + ind.name + " und " + yi.name);
    s.appendChild(svg("line", { x1: String(l0), x2: String(w - r0), y1: String(h - b0), y2: String(h - b0), stroke: "#555" }));
    s.appendChild(svg("line", { x1: String(l0), x2: String(l0), y1: String(t0), y2: String(h - b0), stroke: "#555" }));
    text(s, l0, h - b0 + 16, fmt(xl, ind.decimals)); text(s, w - r0, h - b0 + 16, fmt(xh, ind.decimals), { "text-anchor": "end" });
    text(s, l0 - 6, h - b0, fmt(yl, yi.decimals), { "text-anchor": "end" }); text(s, l0 - 6, t0 + 8, fmt(yh, yi.decimals), { "text-anchor": "end" });
    text(s, (l0 + w) / 2, h - 8, ind.name + " (" + ind.unit + ")", { "text-anchor": "middle" });
    pts.forEach(function (p) {
      var sel = state.selected.indexOf(p.id) >= 0;
      var c = svg("circle", { cx: X(p.x).toFixed(1), cy: Y(p.y).toFixed(1), r: sel ? "7" : "4", fill: sel ? "#b3361b" : "#4a90c2", "fill-opacity": sel ? "1" : "0.7", stroke: "#1a1a1a", "stroke-width": sel ? "1.5" : "0.5", "data-id": p.id });
      var tt = svg("title"); tt.textContent = p.name + ": " + fmtValue(p.x, ind) + "; " + fmtValue(p.y, yi); c.appendChild(tt);
      s.appendChild(c);
    });
    var cx = cityCell(ind.id, state.t), cy = cityCell(yi.id, state.t);
    if (cx && cy && cx.v !== null && cy.v !== null) {
      var px = X(cx.v), py = Y(cy.v);
      s.appendChild(svg("path", { d: "M" + (px - 7) + " " + py + "h14M" + px + " " + (py - 7) + "v14", stroke: "#1a1a1a", "stroke-width": "3" }));
    }
    var n = pts.length, mx = xs.reduce(function (a, b) { return a + b; }, 0) / n, my = ys.reduce(function (a, b) { return a + b; }, 0) / n;
    var sxy = 0, sxx = 0, syy = 0;
    pts.forEach(function (p) { sxy += (p.x - mx) * (p.y - my); sxx += (p.x - mx) * (p.x - mx); syy += (p.y - my) * (p.y - my); });
    var r = sxx && syy ? sxy / Math.sqrt(sxx * syy) : 0;
    box.appendChild(s);
    box.appendChild(el("p", { "class": "klein" }, n + " Gebiete mit beiden Werten; Korrelation (Pearson) r = " + fmt(r, 2) + ". Kreuz: " + (D.city ? D.city.name : "Stadt") + " insgesamt. Senkrechte Achse: " + yi.name + " (" + yi.unit + ")."));
  }
  function spine(v, lo, hi, city) {
    var w = 160, h = 18, s = svg("svg", { width: String(w), height: String(h), viewBox: "0 0 " + w + " " + h, "aria-hidden": "true", "class": "spine" });
    if (lo === null || hi === null) return s;
    var span = hi - lo || 1, x = function (u) { return 4 + ((u - lo) / span) * (w - 8); };
    s.appendChild(svg("rect", { x: "4", y: "6", width: String(w - 8), height: "6", fill: "#d9d9d9" }));
    if (city !== null) s.appendChild(svg("line", { x1: String(x(city)), x2: String(x(city)), y1: "1", y2: "17", stroke: "#1a1a1a", "stroke-width": "2" }));
    if (v !== null) s.appendChild(svg("circle", { cx: String(x(v)), cy: "9", r: "5", fill: "#b3361b", stroke: "#ffffff" }));
    return s;
  }
  function renderProfile() {
    var box = $("profil"); box.innerHTML = "";
    var level = current.level, a = areas(level), id = state.focus && a.ids.indexOf(state.focus) >= 0 ? state.focus : null;
    if (!id) { box.appendChild(el("p", null, "Ein Gebiet in der Karte oder Tabelle anklicken: das Profil zeigt alle Kennzahlen des Gebiets im Vergleich mit der Stadt und der Spannweite der Ebene.")); return; }
    var i = a.ids.indexOf(id), t = state.t, first = 0;
    box.appendChild(el("h3", { id: "profil-titel" }, a.names[i] + " (" + levels[level].name + " " + id + ")"));
    box.appendChild(el("p", null, "Stichtag " + dayDe(D.stichtage[t]) + ". Balken: Spannweite aller " + levels[level].plural + " (kleinster bis größter Wert), Strich: " + (D.city ? D.city.name : "Stadt") + " insgesamt, Punkt: dieses Gebiet. Entwicklung seit " + dayDe(D.stichtage[first]) + "."));
    var idx = el("ul", { "class": "indexklassen" });
    D.indices.forEach(function (ix) {
      if (ix.level !== level) return;
      var tt = ix.stichtage.indexOf(D.stichtage[t]); if (tt < 0) tt = ix.stichtage.length - 1;
      var txt;
      if (ix.kind === "status_dynamics") txt = ix.status[tt][i] === null ? "nicht indexiert" : "Status " + ix.status[tt][i] + ", Dynamik " + (ix.dynamics[tt][i] === null ? "nicht berechnet" : ix.dynamics[tt][i]);
      else txt = ix.value.gesamt[tt][i] === null ? "nicht indexiert" : "Rang " + fmt(ix.rank[tt][i], 0) + (ix.rank_p05[tt][i] !== null ? " (Rangband " + fmt(ix.rank_p05[tt][i], 0) + "–" + fmt(ix.rank_p95[tt][i], 0) + ")" : "") + ", Indexwert " + fmt(ix.value.gesamt[tt][i], 2);
      idx.appendChild(el("li", null, ix.name + ": " + txt));
    });
    if (idx.children.length) box.appendChild(idx);
    var tab = el("table", { "class": "daten profil", id: "profiltabelle" });
    var hr = el("tr");
    ["Kennzahl", "Wert", D.city ? D.city.name : "Stadt", "Spannweite der Ebene", "Entwicklung", "Hinweis"].forEach(function (c) { hr.appendChild(el("th", { scope: "col" }, c)); });
    var thead = el("thead"); thead.appendChild(hr); tab.appendChild(thead);
    var body = el("tbody"), topic = null;
    available(level).forEach(function (ind) {
      if (ind.topic !== topic) { topic = ind.topic; var th = el("tr", { "class": "thema" }); th.appendChild(el("th", { colspan: "6", scope: "colgroup" }, topic)); body.appendChild(th); }
      var c = cell(level, ind.id, t, i), s = series(level, ind.id), lo = null, hi = null;
      s.v[t].forEach(function (v) { if (v !== null) { lo = lo === null ? v : Math.min(lo, v); hi = hi === null ? v : Math.max(hi, v); } });
      var city = cityCell(ind.id, t), c0 = cell(level, ind.id, first, i);
      var trend = "";
      if (c.v !== null && c0.v !== null && t > first) {
        var delta = c.v - c0.v, arrow = Math.abs(delta) < Math.pow(10, -ind.decimals) / 2 ? "→" : delta > 0 ? "↑" : "↓";
        trend = arrow + " " + (delta > 0 ? "+" : "") + fmt(delta, ind.decimals);
      }
      var tr = el("tr", { "data-kennzahl": ind.id });
      tr.appendChild(el("th", { scope: "row" }, ind.name + " (" + ind.unit + ")"));
      tr.appendChild(el("td", { "class": "zahl wert" }, c.v === null ? c.c : fmt(c.v, ind.decimals)));
      tr.appendChild(el("td", { "class": "zahl" }, city && city.v !== null ? fmt(city.v, ind.decimals) : (city ? city.c : "")));
      var sp = el("td"); sp.appendChild(spine(c.v, lo, hi, city ? city.v : null)); tr.appendChild(sp);
      tr.appendChild(el("td", { "class": "zahl" }, trend));
      tr.appendChild(el("td", null, noteOf(c)));
      body.appendChild(tr);
    });
    tab.appendChild(body);
    var wrap = el("div", { "class": "scroll" }); wrap.appendChild(tab); box.appendChild(wrap);
    var pr = el("button", { type: "button", id: "drucken" }, "Profil drucken");
    pr.addEventListener("click", function () { document.body.classList.add("druck-profil"); window.print(); document.body.classList.remove("druck-profil"); });
    box.appendChild(pr);
  }
  function dl(list, pairs) {
    pairs.forEach(function (p) { list.appendChild(el("dt", null, p[0])); list.appendChild(el("dd", null, p[1] || "–")); });
  }
  function renderMeta() {
    var box = $("meta"); box.innerHTML = "";
    if (current.kind === "kennzahl") {
      var ind = current.ind;
      box.appendChild(el("h3", null, ind.name));
      var d = el("dl", { "class": "metadaten" });
      dl(d, [["Kennzahl-ID", ind.id], ["Thema", ind.topic], ["Definition", ind.definition], ["Zähler", ind.numerator],
        ["Nenner", ind.denominator || "– (Anzahl, kein Nenner)"], ["Einheit", ind.unit], ["Quelle", ind.source],
        ["Zuständige Stelle", ind.responsible], ["Aktualisierung", ind.cycle], ["Richtung", ind.direction_de]]);
      box.appendChild(d);
    } else {
      box.appendChild(el("h3", null, current.ix.name));
      box.appendChild(el("p", null, "Ebene: " + levels[current.level].name + ". Berechnet aus den veröffentlichten Kennzahlen dieser Veröffentlichung; nicht indexierte Gebiete sind gekennzeichnet."));
    }
    var h = $("herkunft");
    box.appendChild(el("h3", null, "Herkunft"));
    var p = el("dl", { "class": "metadaten" });
    dl(p, [["Veröffentlichung", h.dataset.release], ["Stichtag", dayDe(h.dataset.stichtag)], ["Zeitreihe", D.stichtage.map(dayDe).join(", ") + " (auf dem heutigen Gebietsstand)"]]);
    box.appendChild(p);
    var links = el("ul");
    h.querySelectorAll("a").forEach(function (a) { var li = el("li"); li.appendChild(a.cloneNode(true)); links.appendChild(li); });
    box.appendChild(links);
    box.appendChild(el("h3", null, "Zeichenerklärung"));
    var z = el("dl", { "class": "metadaten" });
    dl(z, D.signs);
    box.appendChild(z);
  }
  var RENDER = { tabelle: renderTable, rang: renderRanking, zeit: renderSeries, streu: renderScatter, profil: renderProfile, meta: renderMeta };

  function showView(view, focus) {
    state.view = view;
    document.querySelectorAll('[role="tab"]').forEach(function (tab) {
      var on = tab.getAttribute("aria-controls") === view;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      $(tab.getAttribute("aria-controls")).hidden = !on;
      if (on && focus) tab.focus();
    });
    RENDER[view]();
    writeHash();
  }

  // ---------- permalink ----------
  function writeHash() {
    var p = ["modus=" + state.mode, "ebene=" + state.level, "kennzahl=" + state.indicator, "stichtag=" + D.stichtage[state.t],
      "klassen=" + state.method, "anzahl=" + state.k, "ansicht=" + state.view];
    if (state.selected.length) p.push("auswahl=" + state.selected.map(encodeURIComponent).join(","));
    if (state.focus) p.push("gebiet=" + encodeURIComponent(state.focus));
    if (state.y) p.push("y=" + state.y);
    if (D.indices.length) p.push("index=" + state.index);
    var hash = "#" + p.join("&");
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }
  function readHash() {
    var q = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var at = kv.indexOf("="); if (at > 0) q[kv.slice(0, at)] = decodeURIComponent(kv.slice(at + 1));
    });
    if (q.modus === "index" && D.indices.length) state.mode = "index";
    if (q.ebene && D.geo.areas[q.ebene] && levels[q.ebene].map) state.level = q.ebene;
    if (q.kennzahl && indicators[q.kennzahl]) state.indicator = q.kennzahl;
    if (q.stichtag && D.stichtage.indexOf(q.stichtag) >= 0) state.t = D.stichtage.indexOf(q.stichtag);
    if (q.klassen && ["quantile", "gleich", "jenks", "katalog"].indexOf(q.klassen) >= 0) state.method = q.klassen;
    if (q.anzahl && +q.anzahl >= 3 && +q.anzahl <= 7) state.k = +q.anzahl;
    if (q.ansicht && RENDER[q.ansicht]) state.view = q.ansicht;
    if (q.auswahl) state.selected = q.auswahl.split(",").map(decodeURIComponent).filter(Boolean);
    if (q.gebiet) state.focus = q.gebiet;
    if (q.y && indicators[q.y]) state.y = q.y;
    if (q.index && D.indices[+q.index]) state.index = +q.index;
  }

  // ---------- export ----------
  function download(name, blob) {
    var a = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  }
  function csvField(s) {
    s = String(s);
    // OWASP CSV injection: text a spreadsheet would read as a formula gets a leading apostrophe (as in
    // tabellen/*.csv, orchestration/release/public_text.py); numbers such as -1,5 stay numbers
    if (/^[=+\-@\t\r\n\0\uff1d\uff0b\uff0d\uff20]/.test(s) && !/^[+-]?[0-9]+([,.][0-9]+)?$/.test(s)) s = "'" + s;
    return /[;"\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function csvText() {
    var lines = [], day, rows = tableRows();
    if (current.kind === "kennzahl") {
      var ind = current.ind; day = dayDe(D.stichtage[state.t]);
      lines.push(["Gebiets-Nr.", "Gebietsname", "Ebene", "Stichtag", "Kennzahl", "Einheit", "Wert", "Zähler", "Nenner", "Hinweis"]);
      var row = function (id, name, level, c) {
        return [id, name, level, day, ind.name, ind.unit, c.v === null ? c.c : exact(c.v), c.v === null ? c.c : (c.n === null ? "x" : exact(c.n)),
          c.v === null ? c.c : (c.d === null ? "x" : exact(c.d)), noteOf(c)];
      };
      rows.forEach(function (r) { lines.push(row(r.id, r.name, levels[current.level].name, current.cells[r.i])); });
      if (D.city) lines.push(row(D.city.id, D.city.name, levels[D.city.level].name, cityCell(ind.id, state.t)));
    } else {
      lines.push(["Gebiets-Nr.", "Gebietsname"].concat(tableColumns().slice(2).map(function (c) { return c[1]; })));
      rows.forEach(function (r) { lines.push([r.id, r.name].concat(tableCells(r.i))); });
    }
    return "\ufeff" + lines.map(function (l) { return l.map(csvField).join(";"); }).join("\r\n") + "\r\n";
  }
  function fileStem() {
    var what = current.kind === "kennzahl" ? current.ind.id : current.ix.id;
    return "sozialatlas_" + what + "_" + current.level + "_" + D.stichtage[state.t];
  }
  function svgText() {
    var src = $("kartensvg"), copy = src.cloneNode(true);
    copy.setAttribute("xmlns", SVGNS);
    copy.setAttribute("width", String(Math.round(D.geo.width / 10)));
    copy.setAttribute("height", String(Math.round(D.geo.height / 10)));
    copy.querySelectorAll("path").forEach(function (p) {
      p.removeAttribute("tabindex"); p.removeAttribute("role"); p.removeAttribute("aria-pressed");
      if (p.classList.contains("gewaehlt")) { p.setAttribute("stroke", "#1a1a1a"); p.setAttribute("stroke-width", "30"); }
      p.removeAttribute("vector-effect");
      p.setAttribute("stroke-width", p.classList.contains("gewaehlt") ? "30" : "6");
    });
    var title = svg("title"); title.textContent = $("stadtwert").textContent; copy.insertBefore(title, copy.firstChild);
    return new XMLSerializer().serializeToString(copy);
  }
  function exportPng() {
    var img = new Image(), text = svgText();
    img.onload = function () {
      var scale = 1600 / Math.max(D.geo.width, D.geo.height);
      var canvas = el("canvas"); canvas.width = Math.round(D.geo.width * scale); canvas.height = Math.round(D.geo.height * scale);
      var ctx = canvas.getContext("2d"); ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) { download(fileStem() + ".png", blob); say("Karte als PNG gespeichert."); }, "image/png");
    };
    img.onerror = function () { say("PNG konnte nicht erzeugt werden; bitte SVG verwenden."); };
    img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(text);
  }

  // ---------- wiring ----------
  function update() {
    if (state.mode === "kennzahl" && !state.indicator) state.indicator = available(state.level)[0].id;
    fillControls();
    current = compute();
    paintMap();
    legend();
    cityLine();
    RENDER[state.view]();
    writeHash();
  }
  function stopPlay() {
    if (playing) { clearInterval(playing); playing = null; }
    $("abspielen").setAttribute("aria-pressed", "false"); $("abspielen").textContent = "▶ Abspielen";
  }
  function wire() {
    $("thema").addEventListener("change", function () {
      var first = available(state.level).filter(function (i) { return i.topic === $("thema").value; })[0];
      if (first) state.indicator = first.id; update();
    });
    $("kennzahl").addEventListener("change", function () { state.indicator = $("kennzahl").value; update(); });
    $("ebene").addEventListener("change", function () { state.level = $("ebene").value; update(); });
    $("stichtag").addEventListener("change", function () { state.t = +$("stichtag").value; update(); });
    $("zeitregler").addEventListener("input", function () { state.t = +$("zeitregler").value; update(); });
    $("klassen").addEventListener("change", function () { state.method = $("klassen").value; update(); });
    $("anzahl").addEventListener("change", function () { state.k = +$("anzahl").value; update(); });
    $("index").addEventListener("change", function () { state.index = +$("index").value; update(); });
    $("modus-kennzahl").addEventListener("click", function () { state.mode = "kennzahl"; update(); });
    $("modus-index").addEventListener("click", function () {
      state.mode = "index"; var ix = currentIndex(); if (ix && levels[ix.level].map) state.level = ix.level; update();
    });
    $("abspielen").addEventListener("click", function () {
      if (playing) { stopPlay(); return; }
      $("abspielen").setAttribute("aria-pressed", "true"); $("abspielen").textContent = "⏸ Anhalten";
      if (state.t === D.stichtage.length - 1) { state.t = 0; update(); }
      playing = setInterval(function () {
        if (state.t >= D.stichtage.length - 1) { stopPlay(); return; }
        state.t += 1; update();
      }, 1200);
    });
    $("export-csv").addEventListener("click", function () {
      download(fileStem() + ".csv", new Blob([csvText()], { type: "text/csv;charset=utf-8" })); say("Tabelle als CSV gespeichert.");
    });
    $("export-svg").addEventListener("click", function () {
      download(fileStem() + ".svg", new Blob([svgText()], { type: "image/svg+xml" })); say("Karte als SVG gespeichert.");
    });
    $("export-png").addEventListener("click", exportPng);
    $("permalink").addEventListener("click", function () {
      writeHash();
      var url = location.href;
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(url).then(function () { say("Link kopiert: " + url); }, function () { say(url); });
      else say("Link zu dieser Ansicht: " + url);
    });
    var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
    tabs.forEach(function (tab, k) {
      tab.addEventListener("click", function () { showView(tab.getAttribute("aria-controls")); });
      tab.addEventListener("keydown", function (ev) {
        var to = ev.key === "ArrowRight" ? k + 1 : ev.key === "ArrowLeft" ? k - 1 : ev.key === "Home" ? 0 : ev.key === "End" ? tabs.length - 1 : null;
        if (to === null) return;
        ev.preventDefault();
        showView(tabs[(to + tabs.length) % tabs.length].getAttribute("aria-controls"), true);
      });
    });
    $("ansichten").addEventListener("click", function (ev) {
      var t = ev.target.closest ? ev.target.closest("button") : null;
      if (!t) return;
      if (t.dataset.sort) {
        state.sort = { col: t.dataset.sort, dir: state.sort.col === t.dataset.sort ? -state.sort.dir : (t.dataset.sort === "wert" ? -1 : 1) };
        renderTable(); $("tabelle").querySelector('[data-sort="' + state.sort.col + '"]').focus();
      } else if (t.dataset.id) choose(t.dataset.id, ev.shiftKey || ev.ctrlKey || ev.metaKey);
    });
    window.addEventListener("hashchange", function () { readHash(); update(); });
    document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") hideTip(); });
  }

  readHash();
  wire();
  update();
  showView(state.view);
  // time to interactive, from the start of navigation (data.js loaded and parsed, everything drawn)
  document.documentElement.setAttribute("data-bereit", String(Math.round(performance.now())));
  document.documentElement.setAttribute("data-aufbau", String(Math.round(performance.now() - started)));
})();
