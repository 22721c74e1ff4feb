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
    feed.addEventListener("close", function () {
      feed.close();
      el.setAttribute("data-feed", "closed");
      // The page of an auction that has just closed is read again: the server renders the
      // outcome (won, lost, the price) as the engine recorded it.
      if (el.hasAttribute("data-reload-on-close")) { window.location.reload(); }
    });
  });

  // A statement upload (data-import): the file may be dropped on the field, and the form is sent
  // by fetch asking for the import's progress stream (one JSON object a line), shown in the
  // progress bar; at the end the browser goes to the outcomes. Without script the form posts and
  // the server answers with the outcomes page.
  document.querySelectorAll("form[data-import]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector(".dropzone");
    var box = form.querySelector("#import-progress");
    var bar = form.querySelector("progress");
    var text = form.querySelector("#progress-text");
    var failed = form.querySelector("#import-failed");
    var hint = zone.querySelector(".drop-hint");
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("dragging"); hint.hidden = false; });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function () { zone.classList.remove("dragging"); hint.hidden = true; });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; }
    });
    if (!window.fetch || !window.TextDecoder || !window.ReadableStream) { return; }
    var words = JSON.parse(form.getAttribute("data-import") || "{}");
    function say(stage, done, total) {
      var f = words[stage] || "%s / %s";
      text.textContent = f.replace("%s", done).replace("%s", total);
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      failed.hidden = true;
      box.hidden = false;
      bar.removeAttribute("value"); // indeterminate until the first line
      form.setAttribute("data-state", "sending");
      fetch(form.action, { method: "POST", body: new FormData(form), headers: { "Accept": "application/x-ndjson" }, credentials: "same-origin" })
        .then(function (res) {
          if (!res.ok || !res.body) { throw new Error(res.status + " " + res.statusText); }
          var reader = res.body.getReader(), dec = new TextDecoder(), buf = "";
          function line(l) {
            if (!l.trim()) { return; }
            var p = JSON.parse(l);
            if (p.stage === "failed") {
              failed.textContent = (words.refused || "") + p.message;
              failed.hidden = false;
              form.setAttribute("data-state", "failed");
              return;
            }
            bar.max = Math.max(p.total, 1);
            bar.value = p.done;
            bar.setAttribute("data-done", p.done);
            say(p.stage, p.done, p.total);
            form.setAttribute("data-state", p.stage);
            if (p.stage === "done" && p.location) { window.location.assign(p.location); }
          }
          function pump() {
            return reader.read().then(function (r) {
              buf += dec.decode(r.value || new Uint8Array(), { stream: !r.done });
              var lines = buf.split("\n");
              buf = lines.pop();
              lines.forEach(line);
              if (r.done) { line(buf); return; }
              return pump();
            });
          }
          return pump();
        })
        .catch(function (err) {
          failed.textContent = (words.refused || "") + err.message;
          failed.hidden = false;
          form.setAttribute("data-state", "failed");
        });
    });
  });
});
