// Live updates of the workloads table over the websocket.
import { followWorkloads } from "./live.js";

const table = document.querySelector("#workloads tbody");
const status = document.getElementById("live-status");
const empty = document.getElementById("no-workloads");
// "Only mine" lists the signed-in user's workloads only.
const onlySubmitter = document.getElementById("workloads").dataset.onlySubmitter;

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function render(w) {
  let row = table.querySelector(`tr[data-workload-id="${w.id}"]`);
  if (!row) {
    if (onlySubmitter && w.submittedBy !== onlySubmitter) return;
    row = document.createElement("tr");
    row.dataset.workloadId = w.id;
    const name = document.createElement("td");
    const link = document.createElement("a");
    link.href = `/workloads/${w.id}/`;
    link.textContent = w.name;
    name.append(link);
    row.append(name, cell(w.projectName), cell("", "phase"), cell("", "message"),
      cell(String(w.workloadRequestedResources.gpu.request), "gpus"), cell(w.createdAt));
    table.prepend(row);
    empty.hidden = true;
  }
  const phase = row.querySelector(".phase");
  phase.textContent = w.phase;
  phase.dataset.phase = w.phase;
  // The agent's message names the exit code of a failed workload, or why it waits.
  row.querySelector(".message").textContent = w.phaseMessage || "";
}

async function catchUp() {
  const response = await fetch("/api/v1/workloads?sortBy=createdAt&sortOrder=asc&limit=200");
  if (response.ok) for (const w of (await response.json()).workloads) render(w);
}

followWorkloads(render, status, catchUp);
