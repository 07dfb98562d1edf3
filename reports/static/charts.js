/* Shared chart helpers for report.html and trend.html (Chart.js is inlined before this file). */
"use strict";
const PAGE = JSON.parse(document.getElementById("page-data").textContent);
const PALETTE = ["#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bc4c00", "#1b7c83", "#6e7781"];
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.size = 12;
Chart.defaults.plugins.legend.labels.boxWidth = 12;

function clock(seconds) {
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

function xy(t, values) {
  const points = [];
  for (let i = 0; i < t.length; i++) points.push({ x: t[i], y: values[i] });
  return points;
}

function line(label, points, color, extra) {
  return Object.assign({ label, data: points, borderColor: color, backgroundColor: color, borderWidth: 1.5,
                         pointRadius: points.length > 60 ? 0 : 2, spanGaps: false, tension: 0 }, extra || {});
}

/* Fault windows (report.html's PAGE.faults, unix seconds) shaded on every time chart: the fault in red, its
   recovery (from its end until it was back) in amber; an undo that never succeeded shades to the chart's end. */
const faultShading = {
  id: "faultShading",
  beforeDatasetsDraw(chart, _args, options) {
    const faults = (typeof PAGE !== "undefined" && PAGE.faults) || [];
    if (options.origin === undefined || options.origin === null || !faults.length) return;
    const { ctx, chartArea: area, scales: { x } } = chart;
    const band = (from, to, color) => {
      const left = Math.max(area.left, x.getPixelForValue(from - options.origin));
      const right = to === null ? area.right : Math.min(area.right, x.getPixelForValue(to - options.origin));
      if (right > left) { ctx.fillStyle = color; ctx.fillRect(left, area.top, right - left, area.bottom - area.top); }
    };
    ctx.save();
    for (const f of faults) {
      band(f.start, f.end, "rgba(207, 34, 46, 0.14)");
      if (f.end !== null) band(f.end, f.recovered, "rgba(154, 103, 0, 0.10)");
    }
    ctx.restore();
  },
};
Chart.register(faultShading);

function timeChart(id, datasets, yTitle, y2Title, origin, range) {
  /* range: [first, last] second of the x axis, so charts drawn apart share one; else it fits the data */
  const [min, max] = range || [];
  const scales = {
    x: { type: "linear", min, max, title: { display: true, text: "time since start" }, ticks: { callback: (v) => clock(v), maxTicksLimit: 10 } },
    y: { beginAtZero: true, title: { display: true, text: yTitle } },
  };
  if (y2Title) scales.y2 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: y2Title } };
  return draw(id, { type: "line", data: { datasets }, options: { parsing: true, interaction: { mode: "nearest", intersect: false },
    plugins: { faultShading: { origin }, tooltip: { callbacks: { title: (items) => items.length ? clock(items[0].parsed.x) : "" } } }, scales } });
}

function draw(id, config) {
  const canvas = document.getElementById(id);
  if (!canvas) return null;
  const existing = Chart.getChart(canvas);
  if (existing) existing.destroy();
  return new Chart(canvas, config);
}

function label(method, name) {
  return method ? `${method} ${name}` : name;
}

function fillPicker(select, options, onChange) {
  for (const [value, text] of options) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = text;  /* text, never markup: names come from the run */
    select.appendChild(option);
  }
  select.addEventListener("change", () => onChange(select.value));
  if (options.length) onChange(select.value);
}

function addFigure(container, id, caption) {
  const figure = document.createElement("figure");
  const title = document.createElement("figcaption");
  title.textContent = caption;
  const holder = document.createElement("div");
  holder.className = "chart";
  const canvas = document.createElement("canvas");
  canvas.id = id;
  canvas.setAttribute("data-chart", "");
  holder.appendChild(canvas);
  figure.append(title, holder);
  container.appendChild(figure);
  return id;
}
