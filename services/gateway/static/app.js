// Faramesh Cloud: the shell's script (docs/ui-conventions.md). Everything works without it.
// * Times: every <time datetime="...Z"> (server text: UTC) reads relative ("3 min ago", "in 2 hr")
//   with the absolute time in the viewer's own zone on hover (title); rows added later by the
//   live views are caught by an observer, and the relative words are refreshed every 30 s.
// * Submits the stack filter (select[data-autosubmit]) when it changes; [data-copy] buttons.
(function () {
  "use strict";
  var absolute = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    timeZoneName: "short"
  });
  var relative = window.Intl && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" }) : null;
  var STEPS = [["second", 60], ["minute", 60], ["hour", 24], ["day", 30], ["month", 12], ["year", Infinity]];

  function ago(when, now) {
    var amount = (when.getTime() - now) / 1000;
    for (var i = 0; i < STEPS.length; i++) {
      if (Math.abs(amount) < STEPS[i][1]) {
        if (STEPS[i][0] === "second" && Math.abs(amount) < 10) { return relative.format(0, "second"); }
        return relative.format(Math.round(amount), STEPS[i][0]);
      }
      amount /= STEPS[i][1];
    }
    return absolute.format(when);
  }

  function localise(root) {
    var nodes = root.querySelectorAll ? root.querySelectorAll("time[datetime]") : [];
    var now = Date.now();
    for (var i = 0; i < nodes.length; i++) {
      var when = new Date(nodes[i].getAttribute("datetime"));
      if (isNaN(when.getTime())) { continue; }
      nodes[i].title = absolute.format(when);
      nodes[i].textContent = relative ? ago(when, now) : absolute.format(when);
    }
  }

  // A <time> element for a script that builds rows (audit_live.js, fleet.js): iso is the
  // record's ISO text; the observer below localises it once it is in the page.
  function timeTag(iso) {
    var node = document.createElement("time");
    node.setAttribute("datetime", String(iso));
    node.textContent = String(iso);
    return node;
  }
  // An effect badge, as the server's `effect` filter writes it (colour and the word).
  var KINDS = { PERMIT: "permit", DENY: "deny", DEFER: "defer", MODIFY: "modify",
                SHADOW_PERMIT: "shadow", SHADOW_DENY: "shadow", SHADOW_DEFER: "shadow" };
  function effectTag(effect) {
    var word = String(effect || "—");
    var node = document.createElement("span");
    node.className = "effect effect-" + (KINDS[word.toUpperCase()] || "other");
    node.setAttribute("data-effect", word);
    node.textContent = word;
    return node;
  }
  window.Faramesh = { localise: localise, timeTag: timeTag, effectTag: effectTag };

  document.addEventListener("DOMContentLoaded", function () {
    localise(document);
    if (window.MutationObserver) {
      new MutationObserver(function (changes) {
        for (var c = 0; c < changes.length; c++) {
          for (var n = 0; n < changes[c].addedNodes.length; n++) {
            var added = changes[c].addedNodes[n];
            if (added.nodeType !== 1) { continue; }
            if (added.matches && added.matches("time[datetime]")) { localise(added.parentNode); } else { localise(added); }
          }
        }
      }).observe(document.body, { childList: true, subtree: true });
    }
    window.setInterval(function () { localise(document); }, 30000);
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
