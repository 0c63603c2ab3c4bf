/* Tick-all checkbox and a live count for tables with bulk actions.
   Without JavaScript the boxes still work one by one. */
(function () {
  "use strict";
  document.querySelectorAll("form[data-select-form]").forEach(function (form) {
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-selected-count]");
    var boxes = function () {
      return Array.prototype.slice.call(form.querySelectorAll("tbody input[type=checkbox]"));
    };
    function update() {
      var ticked = boxes().filter(function (b) { return b.checked; }).length;
      if (count) count.textContent = ticked ? ticked + " selected" : "";
      if (all) {
        all.checked = ticked > 0 && ticked === boxes().length;
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
      if (!boxes().some(function (b) { return b.checked; })) {
        event.preventDefault();
        if (count) count.textContent = "Tick at least one row first.";
      }
    });
    update();
  });
})();
