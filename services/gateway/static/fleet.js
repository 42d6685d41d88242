// Home's activity stream, live: the last 100 DPRs, newest first. New records arrive as
// server-sent events from /o/{org}/activity/events (the Audit live stream's source, limited to
// the stacks Home shows), starting after the newest record the page was rendered with; a
// record already on the page is not added twice. Browsers without EventSource re-read the
// REST twin every 10 s. Rows are built with textContent only (record fields are hostile input).
(function () {
  "use strict";
  var KEEP = 100;
  var table = document.getElementById("activity");
  if (!table) { return; }
  var base = table.getAttribute("data-base");
  var names = JSON.parse(table.getAttribute("data-stack-names") || "{}");
  var status = document.getElementById("activity-status");
  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }
  function row(r) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-record", r.record_id);
    var td = document.createElement("td");
    var a = document.createElement("a");
    a.href = base + "/audit/records/" + encodeURIComponent(r.record_id);
    a.appendChild(window.Faramesh.timeTag(r.created_at));  // app.js: relative, absolute on hover
    td.appendChild(a); tr.appendChild(td);
    cell(tr, names[r.stack_id] || String(r.stack_id).slice(0, 8)); cell(tr, r.agent_id);
    var effect = cell(tr, "");
    effect.appendChild(window.Faramesh.effectTag(r.effect));  // colour and the word
    if (r.verification === "unverified") { effect.appendChild(document.createTextNode(" (unverified)")); }
    cell(tr, r.tool_id);
    return tr;
  }
  function showEmpty(empty) {
    var note = document.getElementById("activity-empty");
    if (note) { note.hidden = !empty; }
  }
  var live = table.getAttribute("data-live");
  if (live && window.EventSource) {
    var body = table.tBodies[0];
    var source = new EventSource(live);
    source.addEventListener("dpr", function (ev) {
      var r = JSON.parse(ev.data);
      var seen = body.querySelectorAll("tr[data-record]");
      for (var i = 0; i < seen.length; i++) {
        if (seen[i].getAttribute("data-record") === r.record_id) { return; }
      }
      body.insertBefore(row(r), body.firstChild);
      while (body.rows.length > KEEP) { body.deleteRow(body.rows.length - 1); }
      showEmpty(false);
    });
    if (status) {
      source.addEventListener("open", function () { status.textContent = "Live"; });
      source.addEventListener("error", function () { status.textContent = "Reconnecting…"; });
    }
    // The page fell behind the stream (more records than it took): stop and offer a reload.
    source.addEventListener("behind", function () {
      source.close();
      if (!status) { return; }
      status.textContent = "Paused: this page fell behind. ";
      var again = document.createElement("a");
      again.href = window.location.href; again.textContent = "Reload";
      status.appendChild(again);
    });
    return;
  }
  function refresh() {
    fetch(table.getAttribute("data-source"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var fresh = document.createElement("tbody");
        data.records.forEach(function (r) { fresh.appendChild(row(r)); });
        table.replaceChild(fresh, table.tBodies[0]);
        showEmpty(data.records.length === 0);
      })
      .catch(function () {});
  }
  setInterval(refresh, 10000);
})();
