// Live updates of the workloads table over the websocket; reconnects with backoff.
const table = document.querySelector("#workloads tbody");
const status = document.getElementById("live-status");
const empty = document.getElementById("no-workloads");

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function render(w) {
  let row = table.querySelector(`tr[data-workload-id="${w.id}"]`);
  if (!row) {
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
  // The agent's message names the exit code of a failed workload.
  row.querySelector(".message").textContent = w.phaseMessage || "";
}

let delay = 500;
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/workloads/`);
  socket.addEventListener("open", () => { delay = 500; status.textContent = "Live"; });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "workload") render(message.workload);
  });
  socket.addEventListener("close", () => {
    status.textContent = "Reconnecting…";
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 15000);
  });
}
connect();
