// votebox: progressive enhancement only; every page says the same without it.
// Each <time datetime="…Z" data-local> also gets the reader's local time, and each
// [data-countdown="…Z"] element the time left until that moment, updated every minute.
(function () {
  "use strict";
  function localText(date) {
    try {
      return date.toLocaleString(undefined, {
        year: "numeric",
        month: "short",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        timeZoneName: "short",
      });
    } catch (e) {
      return date.toString();
    }
  }
  function left(ms) {
    var minutes = Math.floor(ms / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var parts = [];
    if (days > 0) parts.push(days + (days === 1 ? " day" : " days"));
    if (hours > 0) parts.push(hours + (hours === 1 ? " hour" : " hours"));
    if (days === 0) parts.push((minutes % 60) + " min");
    return parts.join(" ");
  }
  function start() {
    var times = document.querySelectorAll("time[data-local]");
    for (var i = 0; i < times.length; i++) {
      var date = new Date(times[i].getAttribute("datetime"));
      // Readers on UTC already have it: nothing to add.
      if (isNaN(date.getTime()) || date.getTimezoneOffset() === 0) continue;
      var span = document.createElement("span");
      span.className = "local-time";
      span.textContent = " (your time: " + localText(date) + ")";
      times[i].parentNode.insertBefore(span, times[i].nextSibling);
    }
    var counters = document.querySelectorAll("[data-countdown]");
    function tick() {
      for (var j = 0; j < counters.length; j++) {
        var el = counters[j];
        var ms = new Date(el.getAttribute("data-countdown")).getTime() - Date.now();
        if (isNaN(ms)) continue;
        el.textContent = ms > 0 ? "(" + left(ms) + " left)" : "(reached: reload the page)";
      }
    }
    if (counters.length > 0) {
      tick();
      setInterval(tick, 60000);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
