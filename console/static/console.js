// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // A live figure (data-live="URL of an event stream"): its text follows the venue's feed.
  document.querySelectorAll("[data-live]").forEach(function (el) {
    if (!window.EventSource) { return; }
    var feed = new EventSource(el.getAttribute("data-live"));
    feed.addEventListener("price", function (e) { el.textContent = e.data; });
  });
});
