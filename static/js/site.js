/* Vitrine site script: small, dependency-free progressive enhancement. Every page works without it. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  function initMenu() {
    var toggle = document.querySelector(".menu-toggle");
    var menu = document.getElementById("site-menu");
    if (!toggle || !menu) return;
    toggle.hidden = false;

    function setOpen(open, returnFocus) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("is-open", open);
      if (!open && returnFocus) toggle.focus();
    }

    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      setOpen(open, false);
      if (open) {
        var first = menu.querySelector("a");
        if (first) first.focus();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.classList.contains("is-open")) setOpen(false, true);
    });
    document.addEventListener("click", function (event) {
      if (menu.classList.contains("is-open") && !menu.contains(event.target) && !toggle.contains(event.target)) {
        setOpen(false, false);
      }
    });
    window.matchMedia("(min-width: 48rem)").addEventListener("change", function (query) {
      if (query.matches) setOpen(false, false);
    });
  }

  function initFilters() {
    // A price range whose max is below its min cannot match anything: say so before the round trip.
    var form = document.querySelector("form.filters");
    if (!form) return;
    var low = form.querySelector("[name=min_price]");
    var high = form.querySelector("[name=max_price]");
    if (!low || !high) return;
    function check() {
      var bad = low.value !== "" && high.value !== "" && Number(high.value) < Number(low.value);
      high.setCustomValidity(bad ? "Max price must not be below min price." : "");
    }
    low.addEventListener("input", check);
    high.addEventListener("input", check);

    // Leave empty fields out of the URL (?sort=price rather than ?sort=price&min_price=&max_price=).
    var emptied = [];
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && field.value === "" && !field.disabled) {
          field.disabled = true;
          emptied.push(field);
        }
      });
    });
    window.addEventListener("pageshow", function () {  // coming back from the history cache
      emptied.forEach(function (field) { field.disabled = false; });
      emptied = [];
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initMenu();
    initFilters();
  });
})();
