// The submission form: shows the chosen project's quota, offers only the projects that take
// the chosen type, and shows only the GPU-share field that applies.
const data = JSON.parse(document.getElementById("project-data").textContent);
const type = document.getElementById("f-_type");
const project = document.getElementById("f-projectId");
const portion = document.getElementById("f-spec-compute-gpuPortionRequest").closest(".field");
const memory = document.getElementById("f-spec-compute-gpuMemoryRequest").closest(".field");

function showQuota() {
  for (const panel of document.querySelectorAll("[data-project-quota]")) {
    panel.hidden = panel.dataset.projectQuota !== project.value;
  }
}

function offerProjects() {
  const allowed = new Set(data.byType[type.value] || []);
  for (const option of project.options) option.disabled = !allowed.has(option.value);
  if (project.selectedOptions[0]?.disabled) {
    const first = [...project.options].find((o) => !o.disabled);
    if (first) project.value = first.value;
  }
  showQuota();
}

const workers = document.getElementById("f-spec-numWorkers").closest(".field");
function showWorkers() {
  workers.hidden = type?.value !== "distributed";
}

function showShare() {
  const chosen = document.querySelector("input[name=_gpuFraction]:checked")?.value || "whole";
  portion.hidden = chosen !== "portion";
  memory.hidden = chosen !== "memory";
}

type?.addEventListener("change", () => {
  offerProjects();
  showWorkers();
});
project.addEventListener("change", showQuota);
for (const radio of document.querySelectorAll("input[name=_gpuFraction]")) radio.addEventListener("change", showShare);
offerProjects();
showShare();
showWorkers();
