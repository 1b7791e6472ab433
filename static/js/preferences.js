/* "Your recommendations": excluding a category ticks (and locks) the categories under it; sliders say their value. */
(function () {
  "use strict";

  function init() {
    var form = document.getElementById("preferences-form");
    if (!form) return;
    var rows = Array.prototype.slice.call(form.querySelectorAll(".category-control"));
    var byParent = {};
    rows.forEach(function (row) {
      var parent = row.getAttribute("data-parent-id");
      if (parent) (byParent[parent] = byParent[parent] || []).push(row);
    });

    function checkbox(row) { return row.querySelector('input[name="excluded"]'); }

    function cascade(row, excluded) {
      (byParent[row.getAttribute("data-category-id")] || []).forEach(function (child) {
        var box = checkbox(child);
        box.checked = excluded;
        box.disabled = excluded;  // disabled boxes are not sent; the server excludes everything below anyway
        child.classList.toggle("is-excluded", excluded);
        cascade(child, excluded);
      });
    }

    rows.forEach(function (row) {
      var box = checkbox(row);
      box.addEventListener("change", function () {
        row.classList.toggle("is-excluded", box.checked);
        cascade(row, box.checked);
      });
      if (box.checked) cascade(row, true);
    });

    function describe(input) {
      var value = Number(input.value);
      if (input.hasAttribute("data-weight")) {
        var text = value === 0 ? "none" : value < 1 ? "less" : value === 1 ? "normal" : "more";
        input.setAttribute("aria-valuetext", text + " (" + value + "×)");
      } else {
        input.setAttribute("aria-valuetext", Math.round(value * 100) + "%");
      }
    }
    Array.prototype.forEach.call(form.querySelectorAll('input[type="range"]'), function (input) {
      describe(input);
      input.addEventListener("input", function () { describe(input); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
