/* Live preview for Markdown editors: the server renders (questionbank.rendering), this
   script only posts the text and shows the returned, already-sanitized HTML.
   Markup: <textarea data-preview-source="#pane-id" data-preview-url="/teach/preview/">. */
(function () {
  "use strict";
  // Translated strings from Django's JavaScript catalog (jsi18n, loaded before this
  // script); the English text itself when the catalog is missing.
  var gettext = window.gettext || function (s) { return s; };
  var DELAY_MS = 400;

  function csrfToken(el) {
    var form = el.form || document.querySelector("form");
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function attach(textarea) {
    var pane = document.querySelector(textarea.getAttribute("data-preview-source"));
    var url = textarea.getAttribute("data-preview-url");
    if (!pane || !url) return;
    var timer = null, inFlight = null, lastSent = null;

    function refresh() {
      var text = textarea.value;
      if (text === lastSent) return;
      lastSent = text;
      if (inFlight) inFlight.abort();
      inFlight = new AbortController();
      pane.setAttribute("aria-busy", "true");
      var body = new URLSearchParams();
      body.set("text", text);
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(textarea), "X-Requested-With": "fetch" },
        signal: inFlight.signal
      }).then(function (response) {
        return response.text().then(function (html) {
          if (response.ok) {
            pane.innerHTML = html;  // rendered and sanitized on the server
          } else {
            pane.textContent = response.status === 403
              ? gettext("The preview stopped working because you were logged out. Copy your text, log in again and paste it back.")
              : (html || gettext("The preview could not be rendered; your text is unaffected."));
          }
        });
      }).catch(function (error) {
        if (error.name !== "AbortError") {
          pane.textContent = gettext("The preview is unavailable (no connection to the server). Your text is unaffected.");
        }
      }).finally(function () {
        pane.removeAttribute("aria-busy");
      });
    }

    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, DELAY_MS);
    });
    refresh();
  }

  document.querySelectorAll("textarea[data-preview-source]").forEach(attach);
})();
