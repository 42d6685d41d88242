// Audit → Live stream: appends each DPR the server pushes (server-sent events) to the table;
// on `behind` (the page fell behind the stream) it stops and offers a reload.
// Every value goes in with textContent: record fields are hostile input.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("live");
    if (!table || !window.EventSource) { return; }
    var body = table.querySelector("tbody");
    var status = document.getElementById("live-status");
    var base = table.getAttribute("data-base");
    var count = 0;
    var source = new EventSource(table.getAttribute("data-source"));
    function cell(row, text, href) {
      var td = document.createElement("td");
      if (href) {
        var a = document.createElement("a");
        a.href = href; a.textContent = text; td.appendChild(a);
      } else { td.textContent = text; }
      row.appendChild(td);
      return td;
    }
    source.addEventListener("dpr", function (ev) {
      var r = JSON.parse(ev.data);
      var row = document.createElement("tr");
      row.setAttribute("data-record", r.record_id);
      var when = cell(row, "", base + "/audit/records/" + encodeURIComponent(r.record_id)).firstChild;
      when.appendChild(window.Faramesh.timeTag(r.created_at));  // app.js: relative, absolute on hover
      cell(row, r.stack_id); cell(row, r.agent_id);
      cell(row, r.session_id, base + "/audit/sessions/" + encodeURIComponent(r.session_id));
      cell(row, r.tool_id); cell(row, r.action_type);
      cell(row, "").appendChild(window.Faramesh.effectTag(r.effect));  // colour and the word
      cell(row, r.matched_rule_id);
      // A decision summary from the legacy feed or a webhook has no hash, link or signature.
      var kind = cell(row, r.verification === "unverified" ? "unverified summary · " + r.source : "DPR");
      if (r.verification === "unverified") { kind.className = "muted"; }
      var empty = body.querySelector("tr.empty");
      if (empty) { empty.remove(); }
      body.insertBefore(row, body.firstChild);
      while (body.children.length > 500) { body.removeChild(body.lastChild); }
      count += 1;
      status.textContent = "Live · " + count + " record" + (count === 1 ? "" : "s") + " received";
    });
    source.addEventListener("open", function () { status.textContent = "Live · " + count + " records received"; });
    source.addEventListener("error", function () { status.textContent = "Reconnecting…"; });
    // More records arrived than this page took: the server dropped the stream; say so and stop.
    source.addEventListener("behind", function (ev) {
      source.close();
      status.textContent = JSON.parse(ev.data).message + " ";
      var again = document.createElement("a");
      again.href = window.location.href; again.textContent = "Reload";
      status.appendChild(again);
    });
  });
})();
