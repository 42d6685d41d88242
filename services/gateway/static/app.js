// Faramesh Cloud: the only script. Shows <time datetime="...Z"> in the viewer's time zone and
// submits the stack filter when it changes. Everything works without it (times stay in UTC).
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    timeZoneName: "short"
  });
  function localise(root) {
    var nodes = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var when = new Date(nodes[i].getAttribute("datetime"));
      if (!isNaN(when.getTime())) { nodes[i].textContent = fmt.format(when); }
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    localise(document);
    var filters = document.querySelectorAll("select[data-autosubmit]");  // every one on the page
    for (var f = 0; f < filters.length; f++) {
      filters[f].addEventListener("change", function (ev) { ev.currentTarget.form.submit(); });
    }
    var copy = document.querySelectorAll("[data-copy]");
    for (var i = 0; i < copy.length; i++) {
      copy[i].addEventListener("click", function (ev) {
        var target = document.getElementById(ev.currentTarget.getAttribute("data-copy"));
        if (target && navigator.clipboard) { navigator.clipboard.writeText(target.textContent); }
      });
    }
  });
})();
