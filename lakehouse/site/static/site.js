// Draws the daily average temperature chart from the JSON the page embeds; plotly.min.js is
// served from this site's own assets folder, so the page works offline.
(function () {
  "use strict";
  var target = document.getElementById("temperature-chart");
  var source = document.getElementById("chart-data");
  if (!target || !source || typeof Plotly === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var traces = data.series.map(function (s) {
    return {
      type: "scatter",
      mode: "lines",
      name: s.city,
      x: s.dates,
      y: s.avg_temperature_c,
      line: { width: 1.6 },
      hovertemplate: "%{y:.1f} °C<extra>%{fullData.name}</extra>"
    };
  });
  var layout = {
    margin: { l: 60, r: 20, t: 20, b: 40 },
    hovermode: "x unified",
    legend: { orientation: "h", y: 1.08, x: 0 },
    xaxis: {
      title: { text: "Local date" },
      type: "date",
      rangeslider: { visible: true, thickness: 0.08 }
    },
    yaxis: { title: { text: "Daily average temperature (°C)" }, zeroline: false },
    font: { family: "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", size: 13 }
  };
  Plotly.newPlot(target, traces, layout, { responsive: true, displaylogo: false });
})();
