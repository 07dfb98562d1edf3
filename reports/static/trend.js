/* trend.html: per scenario, the picked endpoint's p95 / error ratio / rps run by run, baseline and band. */
"use strict";
(function () {
  PAGE.scenarios.forEach((scenario, index) => {
    const select = document.getElementById(`trend-picker-${index}`);
    if (!select) return;
    const runs = scenario.runs.map((r, i) => `#${i + 1} ${(r.started || "").slice(0, 16).replace("T", " ")}`);
    function pick(e) {
      const endpoint = scenario.endpoints[e];
      const picked = document.getElementById(`picked-${index}-0`);
      if (picked) picked.textContent = label(endpoint.method, endpoint.name);
      for (const metric of ["p95_ms", "error_ratio", "rps"]) {
        const band = endpoint.band[metric];
        const flagged = new Set(endpoint.flags.filter((f) => f.metric === metric).map((f) => f.run_id));
        const datasets = [];
        if (band) {
          datasets.push({ label: `noise band (${band.from})`, data: runs.map(() => band.high), borderWidth: 0, pointRadius: 0,
                          backgroundColor: "rgba(9, 105, 218, 0.12)", fill: "+1" });
          datasets.push({ label: "band low", data: runs.map(() => band.low), borderWidth: 0, pointRadius: 0, backgroundColor: "rgba(0,0,0,0)" });
        }
        if (endpoint.baseline[metric] !== null && endpoint.baseline[metric] !== undefined) {
          datasets.push({ label: "baseline", data: runs.map(() => endpoint.baseline[metric]), borderColor: PALETTE[2],
                          borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5 });
        }
        datasets.push({ label: metric, data: endpoint.values[metric], borderColor: PALETTE[0], backgroundColor: PALETTE[0],
                        borderWidth: 2, spanGaps: true,
                        pointRadius: scenario.runs.map((r) => (flagged.has(r.run_id) ? 6 : 3)),
                        pointBackgroundColor: scenario.runs.map((r) => (flagged.has(r.run_id) ? PALETTE[1] : PALETTE[0])) });
        draw(`trend-${index}-${metric}`, { type: "line", data: { labels: runs, datasets },
          options: { plugins: { legend: { labels: { filter: (item) => item.text !== "band low" } } },
                     scales: { y: { beginAtZero: true } } } });
      }
    }
    fillPicker(select, scenario.endpoints.map((e, i) => [String(i), label(e.method, e.name)]), (v) => pick(Number(v)));
    const recoveryBox = document.getElementById(`trend-resilience-${index}`);
    if (recoveryBox) {
      scenario.resilience.forEach((fault, f) => {
        const id = addFigure(recoveryBox, `trend-${index}-recovery-${f}`, `recovery time of fault ${fault.name}, s`);
        draw(id, { type: "line", data: { labels: runs, datasets: [{ label: "recovery s", data: fault.recovery_s,
          borderColor: PALETTE[3], backgroundColor: PALETTE[3], borderWidth: 2, spanGaps: false, pointRadius: 3 }] },
          options: { scales: { y: { beginAtZero: true } } } });
      });
    }
    const serverBox = document.getElementById(`trend-server-${index}`);
    if (serverBox) {
      scenario.server.forEach((metric, m) => {
        const title = metric.unit ? `${metric.name}, ${metric.unit}` : metric.name;
        const id = addFigure(serverBox, `trend-${index}-server-${m}`, title);
        draw(id, { type: "line", data: { labels: runs, datasets: [{ label: metric.name, data: metric.values,
          borderColor: PALETTE[0], backgroundColor: PALETTE[0], borderWidth: 2, spanGaps: true, pointRadius: 3 }] },
          options: { scales: { y: { beginAtZero: true } } } });
      });
    }
  });
})();
