// Draws the site's charts from the JSON each page embeds: the daily average temperature on the
// index page, the cheapest fare against days before departure on the fares page, RSVPs per city
// and hour on the events page. plotly.min.js
// is served from this site's own assets folder, so the pages work offline.
(function () {
  "use strict";
  if (typeof Plotly === "undefined") {
    return;
  }
  var font = { family: "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", size: 13 };

  function embedded(id) {
    var source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }

  var temperature = document.getElementById("temperature-chart");
  var weather = embedded("chart-data");
  if (temperature && weather) {
    var traces = weather.series.map(function (s) {
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
    Plotly.newPlot(temperature, traces, {
      margin: { l: 60, r: 20, t: 20, b: 40 },
      hovermode: "x unified",
      legend: { orientation: "h", y: 1.08, x: 0 },
      xaxis: {
        title: { text: "Local date" },
        type: "date",
        rangeslider: { visible: true, thickness: 0.08 }
      },
      yaxis: { title: { text: "Daily average temperature (°C)" }, zeroline: false },
      font: font
    }, { responsive: true, displaylogo: false });
  }

  var faresChart = document.getElementById("fares-chart");
  var fares = embedded("fares-chart-data");
  if (faresChart && fares) {
    var fareTraces = fares.series.map(function (s) {
      return {
        type: "scatter",
        mode: "lines+markers",
        name: s.route,
        x: s.days_before_departure,
        y: s.cheapest_total_usd,
        line: { width: 1.6 },
        hovertemplate: "%{x} days: %{y:.2f} USD<extra>%{fullData.name}</extra>"
      };
    });
    Plotly.newPlot(faresChart, fareTraces, {
      margin: { l: 70, r: 20, t: 20, b: 50 },
      hovermode: "closest",
      legend: { orientation: "h", y: 1.1, x: 0 },
      xaxis: { title: { text: "Days before departure" }, autorange: "reversed" },
      yaxis: { title: { text: "Cheapest fare (USD)" }, rangemode: "tozero" },
      font: font
    }, { responsive: true, displaylogo: false });
  }

  var rsvpsChart = document.getElementById("rsvps-chart");
  var rsvps = embedded("rsvps-chart-data");
  if (rsvpsChart && rsvps) {
    var rsvpTraces = rsvps.series.map(function (s) {
      return {
        type: "scatter",
        mode: "lines+markers",
        name: s.city,
        x: s.hours,
        y: s.rsvp_count,
        line: { width: 1.6 },
        hovertemplate: "%{x}: %{y} RSVPs<extra>%{fullData.name}</extra>"
      };
    });
    Plotly.newPlot(rsvpsChart, rsvpTraces, {
      margin: { l: 60, r: 20, t: 20, b: 50 },
      hovermode: "closest",
      legend: { orientation: "h", y: 1.15, x: 0 },
      xaxis: { title: { text: "Hour (UTC)" } },
      yaxis: { title: { text: "RSVPs" }, rangemode: "tozero" },
      font: font
    }, { responsive: true, displaylogo: false });
  }
})();
