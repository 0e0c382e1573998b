// Draws every chart a page declares: each <script type="application/json" data-chart="ID">
// holds the chart's kind, its series ({name, x, y}) and its axes (lakehouse.site.render), and
// one function per kind draws it into the element ID. plotly.min.js is served from this
// site's own assets folder, so the pages work offline.
(function () {
  "use strict";
  if (typeof Plotly === "undefined") {
    return;
  }
  var font = { family: "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", size: 13 };

  function layout(spec) {
    var xaxis = { title: { text: spec.x_title } };
    if (spec.x_type) {
      xaxis.type = spec.x_type;
    }
    if (spec.x_reversed) {
      xaxis.autorange = "reversed";
    }
    if (spec.range_slider) {
      xaxis.rangeslider = { visible: true, thickness: 0.08 };
    }
    return {
      margin: { l: 65, r: 20, t: 20, b: 50 },
      hovermode: spec.hover_mode,
      legend: { orientation: "h", y: 1.1, x: 0 },
      xaxis: xaxis,
      yaxis: { title: { text: spec.y_title }, zeroline: false, rangemode: spec.y_from_zero ? "tozero" : "normal" },
      font: font
    };
  }

  function trace(spec, s, base) {
    base.name = s.name;
    base.x = s.x;
    base.y = s.y;
    base.hovertemplate = spec.hover + "<extra>%{fullData.name}</extra>";
    return base;
  }

  var kinds = {
    line: function (element, spec) {
      var traces = spec.series.map(function (s) {
        return trace(spec, s, {
          type: "scatter",
          mode: spec.markers ? "lines+markers" : "lines",
          line: { width: 1.6 }
        });
      });
      Plotly.newPlot(element, traces, layout(spec), { responsive: true, displaylogo: false });
    },
    bar: function (element, spec) {
      var traces = spec.series.map(function (s) {
        return trace(spec, s, { type: "bar" });
      });
      var bars = layout(spec);
      bars.barmode = "group";
      Plotly.newPlot(element, traces, bars, { responsive: true, displaylogo: false });
    }
  };

  var sources = document.querySelectorAll('script[type="application/json"][data-chart]');
  Array.prototype.forEach.call(sources, function (source) {
    var element = document.getElementById(source.getAttribute("data-chart"));
    var spec = JSON.parse(source.textContent);
    if (element && kinds[spec.kind]) {
      kinds[spec.kind](element, spec);
    }
  });
})();
