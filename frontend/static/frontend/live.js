// The browser's side of /ws/workloads/: one socket per page that reconnects with backoff and
// hands each changed workload (as the API shows it) to the page's handler. A change made before
// the socket opened is not sent on it, so ``catchUp`` runs at each opening to read what it missed.
export function followWorkloads(onWorkload, statusElement, catchUp) {
  let delay = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/workloads/`);
    socket.addEventListener("open", () => {
      delay = 500;
      if (statusElement) statusElement.textContent = "Live";
      if (catchUp) catchUp();
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "workload") onWorkload(message.workload);
    });
    socket.addEventListener("close", () => {
      if (statusElement) statusElement.textContent = "Reconnecting…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    });
  }
  connect();
}

// Pages that show counts (overview, clusters, departments) reload their live region, not the
// whole page, shortly after a workload changes; and every 15 seconds, since a cluster's state
// (an agent connecting or going silent) does not travel on the workloads socket.
export function refreshMainOnChange(statusElement) {
  let pending = null;
  async function reload() {
    pending = null;
    const response = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const next = fresh.querySelector("[data-live-region]");
    const current = document.querySelector("[data-live-region]");
    if (next && current) current.replaceWith(next);
  }
  followWorkloads(() => {
    if (!pending) pending = setTimeout(reload, 500);
  }, statusElement);
  setInterval(reload, 15000);
}
