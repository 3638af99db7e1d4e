// Charts over time, drawn as small SVG line charts from the metrics API (the same endpoints a
// client reads). Each <figure data-metrics-url data-metric-types> becomes one chart per metric
// type, with a choice of range (last hour, day, week, or those in data-ranges), refreshed every
// 30 seconds.
const RANGES = { hour: 3600, day: 86400, week: 604800 };
const LABELS = {
  GPU_UTILIZATION: ["GPU utilisation", "%"],
  GPU_MEMORY_USAGE_BYTES: ["GPU memory used", "GiB"],
  GPU_ALLOCATION: ["GPUs allocated", "GPUs"],
  ALLOCATED_GPU: ["GPUs allocated", "GPUs"],
  TOTAL_GPU: ["GPUs", "GPUs"],
  GPU_HOURS_ALLOCATED: ["GPU-hours allocated", "GPU-h"],
  GPU_HOURS_USED: ["GPU-hours used", "GPU-h"],
};
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 420, HEIGHT = 120, PAD = 32;

function element(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.append(node);
  return node;
}

function scaled(type, value) {
  return type.includes("BYTES") ? value / 2 ** 30 : value;
}

function drawLine(type, values, start, end) {
  const [label, unit] = LABELS[type] || [type, ""];
  const points = values.map((v) => [Date.parse(v.timestamp), scaled(type, Number(v.value))]);
  const top = Math.max(unit === "%" ? 100 : 1, ...points.map(([, y]) => y));
  const x = (t) => PAD + ((t - start) / (end - start)) * (WIDTH - PAD - 8);
  const y = (v) => HEIGHT - 18 - (v / top) * (HEIGHT - 28);
  const latest = points.length ? points[points.length - 1][1] : null;
  const summary = latest === null ? `${label}: no samples in this range`
    : `${label}: latest ${latest.toFixed(1)} ${unit}, highest ${Math.max(...points.map(([, v]) => v)).toFixed(1)} ${unit}`;
  const svg = element("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": summary, class: "chart-svg" });
  element("title", {}, svg).textContent = summary;
  element("line", { x1: PAD, y1: y(0), x2: WIDTH - 8, y2: y(0), class: "axis" }, svg);
  element("text", { x: 2, y: y(top) + 4, class: "tick" }, svg).textContent = `${+top.toFixed(1)}`;
  element("text", { x: 2, y: y(0), class: "tick" }, svg).textContent = "0";
  element("text", { x: PAD, y: HEIGHT - 2, class: "tick" }, svg).textContent = `${label} (${unit})`;
  if (points.length) {
    const path = points.map(([t, v], i) => `${i ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    element("path", { d: path, class: "series" }, svg);
  } else {
    element("text", { x: WIDTH / 2 - 50, y: HEIGHT / 2, class: "tick" }, svg).textContent = "no samples yet";
  }
  return svg;
}

async function refresh(figure) {
  const seconds = RANGES[figure.dataset.range || "hour"];
  const end = Date.now(), start = end - seconds * 1000;
  const params = new URLSearchParams({
    metricType: figure.dataset.metricTypes,
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    numberOfSamples: "60",
  });
  const body = figure.querySelector(".chart-body");
  const response = await fetch(`${figure.dataset.metricsUrl}?${params}`);
  if (!response.ok) {
    body.textContent = response.status === 403 ? "You may not read these metrics." : "Metrics are not available.";
    return;
  }
  const { measurements } = await response.json();
  body.replaceChildren(...measurements.map((m) => drawLine(m.type, m.values, start, end)));
}

function startChart(figure) {
  const choices = document.createElement("div");
  choices.className = "chart-ranges";
  choices.setAttribute("role", "group");
  choices.setAttribute("aria-label", "Range");
  // Hourly roll-ups offer days and weeks only.
  const offered = figure.dataset.ranges ? figure.dataset.ranges.split(",") : Object.keys(RANGES);
  for (const range of offered) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = `Last ${range}`;
    button.setAttribute("aria-pressed", String(range === (figure.dataset.range || "hour")));
    button.addEventListener("click", () => {
      figure.dataset.range = range;
      for (const other of choices.children) other.setAttribute("aria-pressed", String(other === button));
      refresh(figure);
    });
    choices.append(button);
  }
  const body = document.createElement("div");
  body.className = "chart-body";
  figure.append(choices, body);
  refresh(figure);
  setInterval(() => refresh(figure), 30000);
}

// A chart in a closed <details> (the overview's departments and projects) starts when opened,
// so a long list costs no requests until someone looks.
for (const figure of document.querySelectorAll("figure[data-metrics-url]")) {
  const closed = figure.closest("details:not([open])");
  if (closed) closed.addEventListener("toggle", () => startChart(figure), { once: true });
  else startChart(figure);
}
