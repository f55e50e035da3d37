// walletpay back office: draws each `[data-series]` element's series with uPlot. The
// data is the element's attribute (JSON): {"x": [unix seconds...], "series": [{"label",
// "values"}...], "time": false for an x that is no time}; no inline script anywhere.
(function () {
  "use strict";
  var colours = ["#1550c9", "#0d6b2f", "#b3261e", "#8f1657"];
  function draw(el) {
    var d = JSON.parse(el.getAttribute("data-series"));
    var series = [{}].concat(d.series.map(function (s, i) {
      return { label: s.label, stroke: colours[i % colours.length], width: 2 };
    }));
    var data = [d.x].concat(d.series.map(function (s) { return s.values; }));
    var opts = { width: Math.max(300, el.clientWidth - 20), height: 260, series: series };
    // A curve over something other than time (risk control's thresholds).
    if (d.time === false) opts.scales = { x: { time: false } };
    el.uplot = new uPlot(opts, data, el);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-series]").forEach(draw);
  });
})();
