/* csww-benchmark charts: small vanilla SVG line charts drawn from each figure's data-chart JSON.
   No libraries, nothing fetched from the network. The table beside each chart holds the same figures. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  // Colour plus line style, so series never rely on colour alone (all at least 4.5:1 on white).
  var STYLE = {
    council: { stroke: "#003078", width: 3.5, dash: "", marker: "circle" },
    sn: { stroke: "#a33b00", width: 2.5, dash: "8 4", marker: "square" },
    region: { stroke: "#00703c", width: 2.5, dash: "2 3", marker: "diamond" },
    england: { stroke: "#0b0c0c", width: 2, dash: "12 3 3 3", marker: "none" }
  };
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function niceStep(range) {
    var raw = range / 5, mag = Math.pow(10, Math.floor(Math.log10(raw || 1))), n = raw / mag;
    return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
  }
  function fmt(v, d) {
    return Number(v).toLocaleString("en-GB", { minimumFractionDigits: d, maximumFractionDigits: d });
  }
  function marker(kind, x, y, s, parent) {
    if (kind === "circle") return el("circle", { cx: x, cy: y, r: 4, fill: s.stroke }, parent);
    if (kind === "square") return el("rect", { x: x - 3.5, y: y - 3.5, width: 7, height: 7, fill: s.stroke }, parent);
    if (kind === "diamond") return el("path", { d: "M" + x + " " + (y - 5) + "l5 5l-5 5l-5-5z", fill: s.stroke }, parent);
    return null;
  }
  function draw(figure) {
    var data = JSON.parse(figure.getAttribute("data-chart"));
    var canvas = figure.querySelector(".csww-chart-canvas");
    var W = 560, H = 300, m = { l: 56, r: 16, t: 14, b: 34 };
    var all = [];
    data.series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null) all.push(v); }); });
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, "aria-hidden": "true", focusable: "false" });
    if (!data.years.length || !all.length) {
      var t = el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#0b0c0c" }, svg);
      t.textContent = "No published values to chart";
      canvas.appendChild(svg);
      figure.setAttribute("data-drawn", "true");
      return;
    }
    var lo = Math.min(0, Math.min.apply(null, all)), hi = Math.max.apply(null, all);
    var step = niceStep(hi - lo || 1);
    hi = Math.ceil(hi / step) * step || step;
    lo = Math.floor(lo / step) * step;
    var n = data.years.length;
    var x = function (i) { return m.l + (n === 1 ? (W - m.l - m.r) / 2 : i * (W - m.l - m.r) / (n - 1)); };
    var y = function (v) { return H - m.b - (v - lo) / (hi - lo) * (H - m.t - m.b); };
    var axes = el("g", { "font-size": "12", fill: "#0b0c0c" }, svg);
    for (var v = lo; v <= hi + step / 2; v += step) {
      el("line", { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), stroke: "#dddddd" }, axes);
      var label = el("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end" }, axes);
      label.textContent = fmt(v, step < 1 ? 1 : 0);
    }
    var every = Math.ceil(n / 8);
    data.years.forEach(function (yr, i) {
      if (i % every && i !== n - 1) return;
      var t = el("text", { x: x(i), y: H - m.b + 18, "text-anchor": "middle" }, axes);
      t.textContent = yr;
    });
    el("line", { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, stroke: "#0b0c0c" }, axes);
    data.series.slice().reverse().forEach(function (s) {
      var st = STYLE[s.key] || STYLE.england, d = "", pen = false, g = el("g", {}, svg);
      s.values.forEach(function (v, i) {
        if (v === null) { pen = false; return; }
        d += (pen ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1);
        pen = true;
      });
      if (d) el("path", { d: d, fill: "none", stroke: st.stroke, "stroke-width": st.width,
                          "stroke-dasharray": st.dash, "stroke-linejoin": "round" }, g);
      s.values.forEach(function (v, i) {
        if (v === null) return;
        var mk = marker(st.marker, x(i), y(v), st, g) ||
                 el("circle", { cx: x(i), cy: y(v), r: 2, fill: st.stroke }, g);
        var title = el("title", {}, mk);
        title.textContent = s.name + ", " + data.years[i] + ": " + fmt(v, data.decimals) + " " + data.unit;
      });
    });
    canvas.appendChild(svg);
    var legend = document.createElement("ul");
    legend.className = "csww-legend";
    legend.setAttribute("aria-hidden", "true");
    data.series.forEach(function (s) {
      if (!s.values.some(function (v) { return v !== null; })) return;
      var st = STYLE[s.key] || STYLE.england, li = document.createElement("li");
      var key = el("svg", { viewBox: "0 0 30 12" }, li);
      el("line", { x1: 1, x2: 29, y1: 6, y2: 6, stroke: st.stroke, "stroke-width": st.width,
                   "stroke-dasharray": st.dash }, key);
      marker(st.marker, 15, 6, st, key);
      li.appendChild(document.createTextNode(" " + s.name));
      legend.appendChild(li);
    });
    canvas.appendChild(legend);
    figure.setAttribute("data-drawn", "true");
  }
  function init() {
    var figures = document.querySelectorAll("figure.csww-chart[data-chart]");
    Array.prototype.forEach.call(figures, function (f) {
      try { draw(f); } catch (e) { f.setAttribute("data-drawn", "error"); throw e; }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
