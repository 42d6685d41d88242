// Home's activity stream: refreshes the last 100 DPRs every 10 s from the REST twin.
// Builds rows with textContent only (record fields are hostile input).
(function () {
  "use strict";
  var table = document.getElementById("activity");
  if (!table) { return; }
  var base = table.getAttribute("data-base");
  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }
  function render(records) {
    var body = table.tBodies[0];
    var fresh = document.createElement("tbody");
    records.forEach(function (r) {
      var row = document.createElement("tr");
      var td = document.createElement("td");
      var a = document.createElement("a");
      a.href = base + "/audit/records/" + encodeURIComponent(r.record_id);
      a.textContent = String(r.created_at).slice(0, 19);
      td.appendChild(a); row.appendChild(td);
      cell(row, String(r.stack_id).slice(0, 8)); cell(row, r.agent_id); cell(row, r.effect); cell(row, r.tool_id);
      fresh.appendChild(row);
    });
    table.replaceChild(fresh, body);
    var empty = document.getElementById("activity-empty");
    if (empty) { empty.hidden = records.length > 0; }
  }
  function refresh() {
    fetch(table.getAttribute("data-source"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) { render(body.records); } })
      .catch(function () {});
  }
  setInterval(refresh, 10000);
})();
