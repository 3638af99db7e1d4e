// A workload's page: phase and reason over the websocket; events and logs followed from the
// API (the same endpoints a client uses) while the workload runs, and once more when it ends.
import { followWorkloads } from "./live.js";

const id = document.getElementById("workload").dataset.workloadId;
const phase = document.getElementById("phase");
const logStatus = document.getElementById("log-status");
const TERMINAL = new Set(["Completed", "Failed", "Stopped", "Deleted"]);
let following = null;

async function refreshEvents() {
  const response = await fetch(`/api/v1/workloads/${id}/events`);
  if (!response.ok) return;
  const list = document.getElementById("events");
  const items = (await response.json()).events.map((e) => {
    const li = document.createElement("li");
    const time = document.createElement("time");
    time.textContent = e.createdAt;
    li.append(time, ` ${e.reason}: ${e.message}`);
    return li;
  });
  list.replaceChildren(...items);
}

async function refreshLogs() {
  for (const stream of ["stdout", "stderr"]) {
    const response = await fetch(`/api/v1/workloads/${id}/logs?stream=${stream}`);
    if (!response.ok) continue;
    const pre = document.getElementById(stream);
    const text = await response.text();
    if (pre.textContent !== text) {
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = text;
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    }
  }
}

function followLogs(current) {
  if (!TERMINAL.has(current) && !following) {
    logStatus.textContent = "Following the logs.";
    following = setInterval(refreshLogs, 1000);
  } else if (TERMINAL.has(current) && following) {
    clearInterval(following);
    following = null;
  }
  if (TERMINAL.has(current)) {
    // The last lines may arrive just after the final phase.
    setTimeout(refreshLogs, 500);
    setTimeout(refreshLogs, 2000);
    logStatus.textContent = "The workload has ended; these are its logs.";
  }
}

function render(w) {
  if (w.id !== id) return;
  const changed = phase.textContent !== w.phase;
  phase.textContent = w.phase;
  phase.dataset.phase = w.phase;
  document.getElementById("phase-message").textContent = w.phaseMessage || "—";
  document.getElementById("exit-code").textContent = w.exitCode ?? "—";
  document.getElementById("placement").textContent = `${w.nodeName || "—"} ${(w.allocatedGpuIds || []).join(", ")}`;
  if (changed) refreshEvents();
  // Only pending or running work can be suspended; the server refuses it anyway.
  const suspend = document.getElementById("suspend");
  if (suspend) suspend.hidden = TERMINAL.has(w.phase);
  followLogs(w.phase);
}

async function catchUp() {
  const response = await fetch(`/api/v1/workloads/${id}`);
  if (response.ok) render(await response.json());
}

followWorkloads(render, document.getElementById("live-status"), catchUp);
followLogs(phase.textContent);
refreshLogs();
