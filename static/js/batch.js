/* Live progress for the batch page: polls the small JSON view every few seconds and
   updates counts, bar and the partial text of running calls, and swaps in the parts the
   server renders with the page's own templates (where the batch stands and why jobs
   wait; failures and job rows), so the live page shows what a reload would. The page is
   complete without it (reload to update). Model text is inserted with textContent only;
   the swapped parts are HTML escaped by the server's templates. */
(function () {
  "use strict";
  // Translated strings from Django's JavaScript catalog (jsi18n, loaded before this
  // script); the English text itself when the catalog is missing.
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, args) { return fmt.replace("%s", args[0]); };
  var POLL_MS = 3000;
  var section = document.getElementById("progress");
  if (!section) return;
  var url = section.getAttribute("data-poll-url");
  var finishedAtLoad = section.getAttribute("data-done") === "true";

  document.querySelectorAll("form[data-batch-cancel]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(gettext("Cancel every job of this batch that has not finished? Answers already generated are kept."))) {
        event.preventDefault();
      }
    });
  });
  if (finishedAtLoad || !url) return;

  function setText(selector, value) {
    document.querySelectorAll(selector).forEach(function (el) { el.textContent = value; });
  }

  function renderRunning(list) {
    var section = document.querySelector("[data-running-section]");
    var container = document.querySelector("[data-running-list]");
    if (!section || !container) return;
    section.hidden = list.length === 0;
    container.replaceChildren();
    list.forEach(function (job) {
      var div = document.createElement("div");
      div.className = "running-job";
      var title = document.createElement("strong");
      title.textContent = job.problem;
      var meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = " · " + interpolate(gettext("job %s"), [job.id]) + " · " + job.elapsed + (job.endpoint ? " · " + job.endpoint : "");
      div.append(title, meta);
      if (job.partial_text) {
        var pre = document.createElement("pre");
        pre.className = "partial";
        pre.textContent = (job.truncated ? "…" : "") + job.partial_text;
        div.append(pre);
        requestAnimationFrame(function () { pre.scrollTop = pre.scrollHeight; });
      } else {
        var p = document.createElement("p");
        p.className = "muted";
        p.textContent = gettext("Waiting for the first words…");
        div.append(p);
      }
      container.append(div);
    });
  }

  var shown = {};
  function swap(name, html) {
    // Replaced only when it changed, so links keep focus and text selections survive.
    var target = document.querySelector("[data-live=" + name + "]");
    if (!target || typeof html !== "string" || shown[name] === html) return;
    shown[name] = html;
    target.innerHTML = html;
  }

  function update(data) {
    Object.keys(data.counts).forEach(function (status) {
      setText("[data-count=" + status + "]", data.counts[status]);
      var bar = document.querySelector("[data-bar=" + status + "]");
      if (bar) bar.style.width = (data.total ? (100 * data.counts[status] / data.total) : 0) + "%";
    });
    renderRunning(data.running);
    if (data.html) {
      swap("status", data.html.status);
      swap("jobs", data.html.jobs);
    }
    setText("[data-live-state]", data.waiting ? gettext("Waiting…") : gettext("Working…"));
    var dot = document.querySelector("[data-live-dot]");
    if (dot) dot.classList.toggle("waiting", !!data.waiting);
  }

  var failures = 0;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        update(data);
        if (data.done) {
          // Reload once so the buttons and messages match the finished batch.
          setText("[data-live-state]", gettext("Finished. Updating the page…"));
          window.location.reload();
          return;
        }
        setTimeout(poll, POLL_MS);
      })
      .catch(function () {
        failures += 1;
        setText("[data-live-state]", gettext("Lost contact with the server; retrying…"));
        setTimeout(poll, Math.min(POLL_MS * Math.pow(2, failures), 60000));
      });
  }
  setTimeout(poll, POLL_MS);
})();
