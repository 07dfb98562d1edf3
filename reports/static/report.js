/* report.html: draws the charts from the page's JSON (series and summary parts the analyzer wrote). */
"use strict";
(function () {
  const series = PAGE.series;
  const timeline = series.timeline;
  /* the load charts' time axis, which the server and journey charts share: the timeline's first point to its
     last (a timeline of one point spans its step: an axis from 0 to 0 draws nothing) */
  const loadAxis = timeline && timeline.t.length
    ? [0, Math.max(timeline.t[timeline.t.length - 1], timeline.step_s || 1)] : undefined;
  if (timeline) {
    const total = timeline.endpoints.find((e) => e.name === "Aggregated" && !e.method) || timeline.endpoints[0];
    timeChart("chart-load", [
      line("requests/s", xy(timeline.t, total.rps), PALETTE[0], { yAxisID: "y" }),
      line("users", xy(timeline.t, timeline.users), PALETTE[6], { yAxisID: "y2", stepped: true }),
    ], "requests/s", "users", timeline.start, loadAxis);
    timeChart("chart-errors", [line("failures/s", xy(timeline.t, total.fps), PALETTE[1])], "failures/s", undefined, timeline.start, loadAxis);
  }
  const distribution = series.distribution.length ? series.distribution[0] : null;
  const names = (timeline ? timeline.endpoints : distribution ? distribution.endpoints : []).map((e) => label(e.method, e.name));
  function pick(index) {
    const picked = names[index];
    document.querySelectorAll(".picked").forEach((el) => { el.textContent = picked; });
    if (timeline) {
      const e = timeline.endpoints[index];
      timeChart("chart-latency", [
        line("p50", xy(timeline.t, e.p50_ms), PALETTE[2]),
        line("p95", xy(timeline.t, e.p95_ms), PALETTE[3]),
        line("p99", xy(timeline.t, e.p99_ms), PALETTE[1]),
      ], "ms", undefined, timeline.start, loadAxis);
      timeChart("chart-endpoint-rate", [
        line("requests/s", xy(timeline.t, e.rps), PALETTE[0]),
        line("failures/s", xy(timeline.t, e.fps), PALETTE[1]),
      ], "per second", undefined, timeline.start, loadAxis);
    }
    if (distribution) {
      const d = distribution.endpoints.find((e) => label(e.method, e.name) === picked) || distribution.endpoints[0];
      const edges = distribution.edges_ms;
      draw("chart-distribution", { type: "bar", data: {
        labels: d.counts.map((_, i) => `${edges[i]}–${edges[i + 1]}`),
        datasets: [{ label: "requests", data: d.counts, backgroundColor: PALETTE[0] }] },
        options: { scales: { x: { title: { display: true, text: "response time, ms" } }, y: { beginAtZero: true, title: { display: true, text: "requests" } } } } });
    }
  }
  const picker = document.getElementById("endpoint-picker");
  if (picker) fillPicker(picker, names.map((n, i) => [String(i), n]), (v) => pick(Number(v)));
  else if (distribution) pick(0);

  const capacity = PAGE.capacity;
  if (capacity && capacity.steps) {
    const steps = capacity.steps;
    const datasets = [
      line("requests/s", steps.map((s) => ({ x: s.users, y: s.rps })), PALETTE[0], { yAxisID: "y", pointRadius: 4 }),
      line("p95 ms", steps.map((s) => ({ x: s.users, y: s.p95_ms })), PALETTE[1], { yAxisID: "y2", pointRadius: 4,
        pointStyle: steps.map((s) => (s.met_sla ? "circle" : "crossRot")), pointBorderWidth: 2 }),
    ];
    const knee = capacity.saturation;
    if (knee) {
      datasets.push(line("p50 ms", knee.steps.map((s) => ({ x: s.users, y: s.p50_ms })), PALETTE[2],
        { yAxisID: "y2", pointRadius: 3, borderDash: [2, 3] }));
    }
    if (knee && knee.first_saturated_users) {
      /* the knee: a dashed vertical line at the last load level where throughput still grew with users */
      const top = Math.max(...steps.map((s) => s.rps || 0)) * 1.05 || 1;
      const x = knee.last_linear_users;
      datasets.push(line(`knee: linear to ${x} users, saturated at ${knee.first_saturated_users}`,
        [{ x, y: 0 }, { x, y: top }], PALETTE[3], { yAxisID: "y", borderDash: [6, 4], borderWidth: 2, pointRadius: 0 }));
    }
    draw("chart-capacity", { type: "line", data: { datasets }, options: { scales: {
      x: { type: "linear", title: { display: true, text: "users" } },
      y: { beginAtZero: true, title: { display: true, text: "requests/s" } },
      y2: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "ms (p95: × = SLA breached)" } } } } });
  }

  const driftBox = document.getElementById("drift-charts");
  if (driftBox) {
    const units = { p95_ms: "p95, ms", rps: "requests/s", target_rss_mb: "target memory, MB" };
    series.drift.forEach((d, i) => {
      const id = addFigure(driftBox, `chart-drift-${i}`, `${units[d.metric] || d.metric} over the steady stage, with the fitted trend (p = ${d.p_value.toPrecision(2)})`);
      timeChart(id, [
        line(units[d.metric] || d.metric, xy(d.t, d.values), PALETTE[0]),
        line("trend", xy(d.line_t, d.line), PALETTE[1], { borderDash: [6, 4], pointRadius: 0, borderWidth: 2 }),
      ], units[d.metric] || d.metric, undefined, d.start);
    });
  }

  const serverBox = document.getElementById("server-charts");
  if (serverBox && series.server) {
    /* on the load charts' time axis (else from the metric's own first point) */
    const origin = timeline ? timeline.start : Math.min(...series.server.map((m) => m.start));
    const users = () => line("users", xy(timeline.t, timeline.users), PALETTE[6], { yAxisID: "y2", stepped: true });
    series.server.forEach((m, i) => {
      const unit = m.unit ? `, ${m.unit}` : "";
      const points = xy(m.t.map((x) => x + m.start - origin), m.values).filter((p) => p.x >= 0);  /* from the load's start */
      if (!points.length) return;
      const id = addFigure(serverBox, `chart-server-${i}`, `${m.name}${unit}`);
      const span = [points[0].x, points[points.length - 1].x];
      const datasets = [line(m.name, points, PALETTE[0])];
      if (m.target !== null && m.target !== undefined) datasets.push(line("target", xy(span, [m.target, m.target]), PALETTE[3], { borderDash: [6, 4], pointRadius: 0 }));
      if (m.alert !== null && m.alert !== undefined) datasets.push(line("alert", xy(span, [m.alert, m.alert]), PALETTE[1], { borderDash: [2, 3], pointRadius: 0 }));
      if (timeline) datasets.push(users());  /* a chart of its own: Chart.js keeps state in each dataset */
      /* samples scraped after the load's last history row fall outside the axis, as they fall outside the load */
      timeChart(id, datasets, m.name + unit, timeline ? "users" : undefined, origin, loadAxis);
    });
  }

  const journeyBox = document.getElementById("journey-charts");
  if (journeyBox && series.journeys) {
    /* on the load charts' time axis when there is one: seconds since the history's first row */
    const origin = timeline ? timeline.start : Math.min(...series.journeys.map((j) => j.start));
    /* Each slot (10 s or more) at its start; one that straddles an edge of the load (its first history row, its
       last point's step) at that edge, since clipped it would take the run's seconds in it along (a journey of the
       first seconds only, signing in, drew nothing); one wholly outside the load left out, as the server samples. */
    const [first, last] = loadAxis || [-Infinity, Infinity];
    const end = loadAxis ? last + (timeline.step_s || 1) : Infinity;
    series.journeys.forEach((j, i) => {
      const slots = (values) => xy(j.t.map((x) => x + j.start - origin), values)
        .filter((p) => p.x + j.step_s > first && p.x < end)
        .map((p) => ({ x: Math.min(Math.max(p.x, first), last), y: p.y }));
      const id = addFigure(journeyBox, `chart-journey-${i}`, `${j.name}: duration of completed journeys (ms) and completion (%)`);
      timeChart(id, [
        line("p50", slots(j.p50_ms), PALETTE[0]),
        line("p95", slots(j.p95_ms), PALETTE[1]),
        line("completion %", slots(j.completion_ratio.map((r) => (r === null ? null : r * 100))), PALETTE[2], { yAxisID: "y2" }),
      ], "ms", "completion %", origin, loadAxis);
    });
  }

  if (series.resources.length) {
    const start = Math.min(...series.resources.map((r) => r.start));
    const named = series.resources.map((r, i) => ({ r, name: r.node && r.node !== r.role ? `${r.role} ${r.node}` : r.role, color: PALETTE[i % PALETTE.length] }));
    const shift = (r) => r.t.map((t) => t + r.start - start);
    timeChart("chart-cpu", named.map(({ r, name, color }) => line(name, xy(shift(r), r.cpu_percent), color)), "CPU %", undefined, start);
    timeChart("chart-memory", named.map(({ r, name, color }) => line(name, xy(shift(r), r.rss_mb), color)), "MB", undefined, start);
  }
})();
