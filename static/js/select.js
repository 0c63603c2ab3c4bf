/* Tick-all checkbox and a live count for tables with bulk actions.
   Without JavaScript the boxes still work one by one.
   Where the list has more pages ([data-select-matching], the problem list), ticking every
   row of the page offers "select all N matching": the form then says all_matching=1 and
   the server applies the action to every problem the filters match. Without JavaScript
   that checkbox is simply always shown. */
(function () {
  "use strict";
  // Translated strings from Django's JavaScript catalog (jsi18n, loaded before this
  // script); the English text itself when the catalog is missing.
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var interpolate = window.interpolate || function (fmt, args) { return fmt.replace("%s", args[0]); };
  document.querySelectorAll("form[data-select-form]").forEach(function (form) {
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-selected-count]");
    var matching = form.querySelector("[data-select-matching]");
    var matchingBox = form.querySelector("[data-all-matching]");
    var prompt = form.querySelector("[data-matching-prompt]");
    var total = matching ? matching.getAttribute("data-total") : "";
    var boxes = function () {
      return Array.prototype.slice.call(form.querySelectorAll("tbody input[type=checkbox]"));
    };
    function update() {
      var ticked = boxes().filter(function (b) { return b.checked; }).length;
      var pageAll = ticked > 0 && ticked === boxes().length;
      if (matching) {
        matching.hidden = !pageAll;
        if (prompt) prompt.hidden = !pageAll;
        if (!pageAll && matchingBox) matchingBox.checked = false;
      }
      if (count) {
        if (matchingBox && matchingBox.checked) count.textContent = interpolate(ngettext("All %s matching selected", "All %s matching selected", total), [total]);
        else count.textContent = ticked ? interpolate(ngettext("%s selected", "%s selected", ticked), [ticked]) : "";
      }
      if (all) {
        all.checked = pageAll;
        all.indeterminate = ticked > 0 && ticked < boxes().length;
      }
    }
    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes().forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) {
      if (matchingBox && matchingBox.checked) return;
      if (!boxes().some(function (b) { return b.checked; })) {
        event.preventDefault();
        if (count) count.textContent = gettext("Tick at least one row first.");
      }
    });
    update();
  });
})();
