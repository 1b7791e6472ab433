/* Vitrine "For you" feed: infinite scroll over GET /api/v1/recommendations/ (cursor paging, no duplicates),
   card actions (like, not interested with undo, hide a whole category), dwell and click events, and the
   wellbeing break notice. Needs events.js. Without JavaScript the first page and its forms still work. */
(function () {
  "use strict";
  var Vitrine = window.Vitrine || {};

  function init() {
    var grid = document.getElementById("for-you");
    if (!grid || !Vitrine.events) return;
    var api = grid.getAttribute("data-api");
    var feedbackApi = grid.getAttribute("data-feedback-api");
    var wellbeingUrl = grid.getAttribute("data-wellbeing-url");
    var pageSize = Number(grid.getAttribute("data-page-size")) || 12;
    var cursor = grid.getAttribute("data-next-cursor") || "";
    var status = document.getElementById("feed-status");
    var more = document.getElementById("feed-more");
    var loading = false;
    var finished = !cursor;
    var seen = {};
    var pagesLoaded = 1;
    var likeTemplate = grid.querySelector('form[data-action="like"]');
    var dismissTemplate = grid.querySelector('form[data-action="not-interested"]');

    function announce(text) { if (status) status.textContent = text; }

    // ---- dwell and clicks ------------------------------------------------------------------------------
    var dwells = new WeakMap();
    var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        var dwell = dwells.get(entry.target);
        if (!dwell) return;
        if (entry.isIntersecting && document.visibilityState === "visible") dwell.start();
        else dwell.report();
      });
    }, { threshold: 0.6 }) : null;

    function watch(card) {
      var item = card.getAttribute("data-item-id");
      seen[item] = true;
      var requestId = card.getAttribute("data-request-id");
      dwells.set(card, new Vitrine.events.Dwell(function (seconds) {
        if (seconds >= 2) Vitrine.events.track("dwell", item, { surface: "feed", requestId: requestId, value: seconds });
      }));
      if (observer) observer.observe(card);
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState !== "hidden") return;
      Array.prototype.forEach.call(grid.querySelectorAll(".feed-card"), function (card) {
        var dwell = dwells.get(card);
        if (dwell) dwell.report();
      });
      Vitrine.events.flush(true);
    });

    grid.addEventListener("click", function (event) {
      var link = event.target.closest(".card-link");
      if (!link) return;
      var card = link.closest(".feed-card");
      Vitrine.events.track("click", card.getAttribute("data-item-id"), { surface: "feed", requestId: card.getAttribute("data-request-id") });
      Vitrine.events.flush(true);
    });

    // ---- drawing cards from the API ------------------------------------------------------------------
    function el(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }

    function formatPrice(value) {
      var number = Number(value);
      return "$" + (isNaN(number) ? value : number.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
    }

    function actionForm(template, item, requestId) {
      var form = template.cloneNode(true);
      form.querySelector('[name="item"]').value = item.id;
      form.querySelector('[name="request_id"]').value = requestId;
      var button = form.querySelector("button");
      button.setAttribute("aria-pressed", "false");
      button.classList.remove("is-on");
      var label = form.querySelector(".visually-hidden");
      label.textContent = (form.getAttribute("data-action") === "like" ? "Like " : "Not interested in ") + item.title;
      return form;
    }

    function drawCard(item, requestId) {
      var card = el("article", "card feed-card is-new");
      card.setAttribute("data-item-id", item.id);
      card.setAttribute("data-category-id", item.category.id);
      card.setAttribute("data-category-name", item.category.name);
      card.setAttribute("data-request-id", requestId);
      card.setAttribute("data-source", item.source);
      var media = el("div", "card-media");
      if (item.image_url) {
        var img = el("img");
        img.src = item.image_url; img.alt = ""; img.loading = "lazy"; img.decoding = "async";
        media.appendChild(img);
      } else {
        var placeholder = el("div", "placeholder");
        placeholder.setAttribute("data-seed", String(item.category.id));  // the tint: see .placeholder in site.css
        placeholder.setAttribute("aria-hidden", "true");
        placeholder.appendChild(el("span", "", (item.category.name || "?").charAt(0).toUpperCase()));
        media.appendChild(placeholder);
      }
      var body = el("div", "card-body");
      body.appendChild(el("p", "card-category", item.category.name));
      var title = el("h3", "card-title");
      var link = el("a", "card-link", item.title);
      link.href = item.url;
      title.appendChild(link);
      body.appendChild(title);
      var foot = el("div", "card-foot");
      foot.appendChild(el("span", "price", formatPrice(item.price)));
      body.appendChild(foot);
      var actions = el("div", "card-actions");
      var why = el("details", "why");
      why.appendChild(el("summary", "", "Why this?"));
      var reason = el("p", "why-text", item.explanation.text);
      reason.setAttribute("data-reason", item.explanation.type);
      why.appendChild(reason);
      actions.appendChild(why);
      if (likeTemplate) actions.appendChild(actionForm(likeTemplate, item, requestId));
      if (dismissTemplate) actions.appendChild(actionForm(dismissTemplate, item, requestId));
      body.appendChild(actions);
      card.appendChild(media);
      card.appendChild(body);
      return card;
    }

    function loadMore() {
      if (loading || finished) return;
      loading = true;
      grid.setAttribute("aria-busy", "true");
      if (more) more.textContent = "Loading…";
      var url = api + "?n=" + pageSize + "&cursor=" + encodeURIComponent(cursor);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          var added = 0;
          (data.items || []).forEach(function (item) {
            if (seen[item.id]) return;  // the API never repeats within a feed session; this guards the page anyway
            var card = drawCard(item, data.request_id);
            grid.appendChild(card);
            watch(card);
            added += 1;
          });
          cursor = data.next_cursor || "";
          pagesLoaded += 1;
          grid.setAttribute("data-pages", String(pagesLoaded));
          if (!cursor || !(data.items || []).length) {
            finished = true;
            if (more) more.remove();
            var end = el("p", "feed-end", "You're all caught up. Come back later for more, or ");
            var reload = el("a", "", "start a fresh feed");
            reload.href = window.location.pathname;
            end.appendChild(reload);
            end.appendChild(document.createTextNode("."));
            grid.parentNode.appendChild(end);
            announce("No more items for now.");
          } else {
            announce(added + " more items loaded.");
          }
          pingWellbeing();
        })
        .catch(function () {
          announce("Could not load more items. Try again.");
        })
        .then(function () {
          loading = false;
          grid.removeAttribute("aria-busy");
          if (more && more.isConnected) more.textContent = "Show more";
          if (!finished && sentinelVisible()) window.setTimeout(loadMore, 50);
        });
    }

    // ---- infinite scroll: load when the "Show more" button comes near the viewport ------------------------
    function sentinelVisible() {
      if (!more || !more.isConnected) return false;
      return more.getBoundingClientRect().top < window.innerHeight + 600;
    }
    if (more) {
      more.hidden = false;  // infinite scroll needs JavaScript: without it the first page stands alone
      more.addEventListener("click", function () { loadMore(); });
      if ("IntersectionObserver" in window) {
        new IntersectionObserver(function (entries) {
          if (entries.some(function (entry) { return entry.isIntersecting; })) loadMore();
        }, { rootMargin: "0px 0px 600px 0px" }).observe(more);
      }
      // The observer reports changes only: a scroll in the same frame as new cards arriving can slip past it.
      var scheduled = false;
      window.addEventListener("scroll", function () {
        if (scheduled || finished) return;
        scheduled = true;
        window.requestAnimationFrame(function () {
          scheduled = false;
          if (sentinelVisible()) loadMore();
        });
      }, { passive: true });
    }

    // ---- card actions ------------------------------------------------------------------------------------
    function restore(card, panel) {
      panel.remove();
      card.classList.remove("is-dismissed");
      Array.prototype.forEach.call(card.children, function (child) { child.hidden = false; });
    }

    function dismissedPanel(card) {
      var item = card.getAttribute("data-item-id");
      var categoryName = card.getAttribute("data-category-name");
      var panel = el("div", "dismissed-panel");
      panel.setAttribute("role", "status");
      panel.appendChild(el("p", "dismissed-text", "Hidden. You won't see this item again."));
      var row = el("div", "dismissed-actions");
      var undo = el("button", "button button-secondary button-sm", "Undo");
      undo.type = "button";
      undo.addEventListener("click", function () {
        undo.disabled = true;
        Vitrine.postJson("/preferences/hidden/" + item + "/undo/", {}).then(function () {
          restore(card, panel);
          card.querySelector(".dismiss-button").focus();
          announce("Item restored.");
        }).catch(function () { undo.disabled = false; });
      });
      var category = el("button", "button button-quiet button-sm", "Hide all " + categoryName);
      category.type = "button";
      category.addEventListener("click", function () {
        category.disabled = true;
        Vitrine.postJson(feedbackApi, { item: Number(item), scope: "category", request_id: card.getAttribute("data-request-id") })
          .then(function () {
            var categoryId = card.getAttribute("data-category-id");
            Array.prototype.forEach.call(grid.querySelectorAll('.feed-card[data-category-id="' + categoryId + '"]'), function (other) {
              other.remove();
            });
            announce(categoryName + " is excluded from your recommendations.");
            if (sentinelVisible()) loadMore();
          })
          .catch(function () { category.disabled = false; });
      });
      row.appendChild(undo);
      row.appendChild(category);
      panel.appendChild(row);
      return panel;
    }

    grid.addEventListener("submit", function (event) {
      var form = event.target;
      var action = form.getAttribute("data-action");
      if (!action) return;
      event.preventDefault();
      var card = form.closest(".feed-card");
      var button = form.querySelector("button");
      if (action === "like") {
        if (button.getAttribute("aria-pressed") === "true") return;
        button.disabled = true;
        Vitrine.postForm(form).then(function () {
          button.setAttribute("aria-pressed", "true");
          button.classList.add("is-on");
          announce("Liked. Your next items take it into account.");
        }).catch(function () {}).then(function () { button.disabled = false; });
      } else if (action === "not-interested") {
        button.disabled = true;
        Vitrine.postJson(feedbackApi, { item: Number(card.getAttribute("data-item-id")), scope: "item", request_id: card.getAttribute("data-request-id") })
          .then(function () {
            Array.prototype.forEach.call(card.children, function (child) { child.hidden = true; });
            card.classList.add("is-dismissed");
            var panel = dismissedPanel(card);
            card.appendChild(panel);
            panel.querySelector("button").focus();
          })
          .catch(function () { announce("That did not work. Try again."); })
          .then(function () { button.disabled = false; });
      }
    });

    // Close an open "Why this?" when another opens, on Escape, or on a click elsewhere.
    grid.addEventListener("toggle", function (event) {
      var details = event.target;
      if (!details.open) return;
      Array.prototype.forEach.call(grid.querySelectorAll("details.why[open]"), function (other) {
        if (other !== details) other.open = false;
      });
    }, true);
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      var open = grid.querySelector("details.why[open]");
      if (open) { open.open = false; open.querySelector("summary").focus(); }
    });
    document.addEventListener("click", function (event) {
      if (event.target.closest("details.why")) return;
      Array.prototype.forEach.call(grid.querySelectorAll("details.why[open]"), function (open) { open.open = false; });
    });

    // ---- wellbeing ----------------------------------------------------------------------------------------
    var notice = document.getElementById("wellbeing");
    function pingWellbeing() {
      if (!wellbeingUrl || !notice || !notice.hidden) return;
      Vitrine.postJson(wellbeingUrl, {}).then(function (data) {
        if (!data.show) return;
        notice.querySelector(".wellbeing-minutes").textContent = data.minutes;
        notice.hidden = false;
      }).catch(function () {});
    }
    if (notice) {
      var dismissForm = notice.querySelector("form");
      dismissForm.addEventListener("submit", function (event) {
        event.preventDefault();
        Vitrine.postForm(dismissForm).then(function () { notice.hidden = true; }).catch(function () { notice.hidden = true; });
      });
    }

    Array.prototype.forEach.call(grid.querySelectorAll(".feed-card"), watch);
    grid.setAttribute("data-pages", "1");
    grid.setAttribute("data-ready", "true");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
