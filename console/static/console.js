// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // A live figure (data-live: the URL of its event stream) follows the venue's feed: each "price"
  // event replaces its text. data-feed says the stream is open; data-amount is the figure shown.
  document.querySelectorAll("[data-live]").forEach(function (el) {
    if (!window.EventSource) { return; }
    var feed = new EventSource(el.getAttribute("data-live"));
    feed.addEventListener("ready", function () { el.setAttribute("data-feed", "ready"); });
    feed.addEventListener("price", function (e) {
      el.textContent = e.data;
      el.setAttribute("data-amount", e.data);
    });
    feed.addEventListener("close", function () { feed.close(); el.setAttribute("data-feed", "closed"); });
  });
});
