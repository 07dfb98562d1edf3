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

function timeChart(id, datasets, yTitle, y2Title) {
  const scales = {
    x: { type: "linear", title: { display: true, text: "time since start" }, ticks: { callback: (v) => clock(v), maxTicksLimit: 10 } },
    y: { beginAtZero: true, title: { display: true, text: yTitle } },
  };
  if (y2Title) scales.y2 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: y2Title } };
  return draw(id, { type: "line", data: { datasets }, options: { parsing: true, interaction: { mode: "nearest", intersect: false },
    plugins: { tooltip: { callbacks: { title: (items) => items.length ? clock(items[0].parsed.x) : "" } } }, scales } });
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
