// Compliance → Reports: live progress. While a report on the page is queued or running, asks
// the REST API for the reports every two seconds and updates their progress and stage; when
// one finishes (done or failed) the page reloads so its Download or Retry shows. Without this
// script the page is the same, and a reload shows the progress.
(function () {
  "use strict";
  var table = document.getElementById("reports");
  if (!table) { return; }
  var url = table.getAttribute("data-poll");
  function pending() {
    return table.querySelectorAll('tr[data-state="queued"], tr[data-state="running"]').length > 0;
  }
  function update(reports) {
    var finished = false;
    for (var i = 0; i < reports.length; i++) {
      var r = reports[i];
      var row = table.querySelector('tr[data-report-id="' + r.report_id + '"]');
      if (!row) { continue; }
      var was = row.getAttribute("data-state");
      if (was !== r.state) {
        row.setAttribute("data-state", r.state);
        var state = row.querySelector(".state");
        if (state) { state.textContent = r.state; }
        if (r.state === "done" || r.state === "failed") { finished = true; }
      }
      var bar = row.querySelector("progress");
      if (bar) { bar.value = r.progress; }
      var pct = row.querySelector(".pct");
      if (pct) { pct.textContent = Math.round(r.progress * 100) + "%"; }
      var stage = row.querySelector(".stage");
      if (stage) { stage.textContent = r.stage || ""; }
    }
    if (finished) { window.location.reload(); }
  }
  function poll() {
    if (!pending()) { return; }
    fetch(url + "?limit=100", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : []; })
      .then(update)
      .catch(function () { /* try again on the next tick */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 1000);
})();
