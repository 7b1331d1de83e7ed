// Manifold console: streams Live (server-sent events) and filters its
// rows. The pages work without it; nothing here is inline (strict CSP).
"use strict";
(function () {
  const table = document.getElementById("live");
  if (!table) return;
  const body = table.tBodies[0];
  const state = document.getElementById("live-state");
  const form = document.getElementById("live-filters");
  const maxRows = 500;

  function filters() {
    return {
      pipeline: form.elements.pipeline.value,
      status: form.elements.status.value,
      consumer: form.elements.consumer.value.trim(),
    };
  }
  function shown(tr, f) {
    const consumer = tr.dataset.consumer || "anonymous";
    return (!f.pipeline || tr.dataset.pipeline === f.pipeline) &&
      (!f.status || tr.dataset.status.charAt(0) === f.status) &&
      (!f.consumer || consumer.indexOf(f.consumer) >= 0);
  }
  function apply() {
    const f = filters();
    for (const tr of body.rows) tr.hidden = !shown(tr, f);
  }
  function cell(tr, text) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }
  function row(c) {
    const tr = document.createElement("tr");
    tr.className = "new";
    tr.dataset.pipeline = c.pipeline;
    tr.dataset.status = String(c.status);
    tr.dataset.consumer = c.consumer;
    tr.dataset.id = c.id;
    const a = document.createElement("a");
    a.href = "/console/calls/" + encodeURIComponent(c.id);
    a.textContent = c.time;
    cell(tr, "").appendChild(a);
    cell(tr, c.pipeline);
    cell(tr, String(c.status));
    cell(tr, c.consumer || "anonymous");
    cell(tr, c.surface);
    cell(tr, c.ms + " ms");
    cell(tr, c.cache);
    return tr;
  }
  form.addEventListener("input", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });

  const es = new EventSource("/console/live/events");
  es.addEventListener("open", function () { state.textContent = "Connected: calls appear as they finish."; });
  es.addEventListener("error", function () { state.textContent = "Disconnected; reconnecting…"; });
  es.addEventListener("call", function (e) {
    const tr = row(JSON.parse(e.data));
    tr.hidden = !shown(tr, filters());
    body.insertBefore(tr, body.firstChild);
    while (body.rows.length > maxRows) body.deleteRow(body.rows.length - 1);
  });
  apply();
})();
