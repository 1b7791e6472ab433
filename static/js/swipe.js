/* Vitrine swipe mode: one card at a time; like / skip by buttons, arrow keys (right = like, left = skip) or
   touch/mouse drag. Each decision is POSTed at once to /swipe/decide/, which records the event and answers the
   next cards, built with it. Without JavaScript the two buttons are plain forms. Dependency-free. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function randomId() {
    var data = new Uint8Array(8);
    window.crypto.getRandomValues(data);
    return Array.prototype.map.call(data, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function init() {
    var root = document.getElementById("swipe");
    var stage = document.getElementById("swipe-stage");
    var dataNode = document.getElementById("swipe-cards");
    if (!root || !stage || !dataNode) return;
    var decideUrl = root.getAttribute("data-decide-url");
    var controls = root.querySelector(".swipe-controls");
    var tally = document.getElementById("swipe-tally");
    var queue = JSON.parse(dataNode.textContent || "[]");
    var cursor = root.getAttribute("data-cursor") || "";
    var current = queue.shift() || null;
    var busy = false;
    var likes = 0;
    var skips = 0;
    var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

    function el(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }

    function draw(card) {
      stage.innerHTML = "";
      if (!card) {
        var empty = el("div", "empty-state swipe-empty");
        empty.id = "swipe-empty";
        empty.appendChild(el("p", "", "")).appendChild(el("strong", "", "No more cards right now."));
        var p = el("p", "", "You've seen everything that fits your settings. ");
        var back = el("a", "", "Back to the shop");
        back.href = "/";
        p.appendChild(back);
        p.appendChild(document.createTextNode("."));
        empty.appendChild(p);
        stage.appendChild(empty);
        controls.hidden = true;
        return;
      }
      var article = el("article", "swipe-card is-entering");
      article.id = "swipe-card";
      article.tabIndex = -1;
      article.setAttribute("data-item-id", card.id);
      article.setAttribute("data-request-id", card.request_id);
      article.setAttribute("aria-labelledby", "swipe-card-title");
      var media = el("div", "swipe-media");
      if (card.image_url) {
        var img = el("img");
        img.src = card.image_url; img.alt = "";
        media.appendChild(img);
      } else {
        var placeholder = el("div", "placeholder");
        placeholder.setAttribute("data-seed", String(card.category.id));  // the tint: see .placeholder in site.css
        placeholder.setAttribute("aria-hidden", "true");
        placeholder.appendChild(el("span", "", (card.category.name || "?").charAt(0).toUpperCase()));
        media.appendChild(placeholder);
      }
      var like = el("span", "swipe-stamp swipe-stamp-like", "Like");
      like.setAttribute("aria-hidden", "true");
      var skip = el("span", "swipe-stamp swipe-stamp-skip", "Skip");
      skip.setAttribute("aria-hidden", "true");
      media.appendChild(like);
      media.appendChild(skip);
      var body = el("div", "swipe-body");
      body.appendChild(el("p", "card-category", card.category.name));
      var title = el("h3", "swipe-title");
      title.id = "swipe-card-title";
      var link = el("a", "", card.title);
      link.href = card.url;
      title.appendChild(link);
      body.appendChild(title);
      body.appendChild(el("p", "price price-lg", "$" + card.price));
      var reason = el("p", "swipe-reason");
      reason.appendChild(el("span", "swipe-reason-label", "Why this?"));
      reason.appendChild(document.createTextNode(" "));
      reason.appendChild(el("span", "swipe-why-text", card.explanation.text));
      body.appendChild(reason);
      article.appendChild(media);
      article.appendChild(body);
      stage.appendChild(article);
      controls.hidden = false;
      Array.prototype.forEach.call(controls.querySelectorAll('[name="item"]'), function (input) { input.value = card.id; });
      bindDrag(article);
      window.requestAnimationFrame(function () { article.classList.remove("is-entering"); });
    }

    function setBusy(value) {
      busy = value;
      root.setAttribute("aria-busy", value ? "true" : "false");
      Array.prototype.forEach.call(controls.querySelectorAll("button"), function (button) { button.disabled = value; });
    }

    function decide(decision) {
      if (busy || !current) return;
      setBusy(true);
      var decided = current;
      var card = document.getElementById("swipe-card");
      if (card) card.classList.add(decision === "like" ? "is-liked" : "is-skipped");
      var form = new FormData();
      form.set("item", decided.id);
      form.set("decision", decision);
      form.set("request_id", decided.request_id || "");
      form.set("client_event_id", "swipe-" + randomId());
      form.set("cursor", cursor);
      fetch(decideUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
        body: form
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (decision === "like") likes += 1; else skips += 1;
          cursor = data.next_cursor || "";
          queue = (data.cards || []).filter(function (next) { return next.id !== decided.id; });
          current = queue.shift() || null;
          window.setTimeout(function () {
            draw(current);
            tally.textContent = (decision === "like" ? "Liked " : "Skipped ") + decided.title + ". " +
              likes + " liked, " + skips + " skipped" + (current ? ". Next: " + current.title + "." : ". No more cards.");
            setBusy(false);
            var next = document.getElementById("swipe-card");
            if (next && root.contains(document.activeElement) === false) next.focus({ preventScroll: true });
          }, reduceMotion ? 0 : 180);
        })
        .catch(function () {
          if (card) card.classList.remove("is-liked", "is-skipped");
          tally.textContent = "That did not work. Try again.";
          setBusy(false);
        });
    }

    controls.addEventListener("submit", function (event) {
      event.preventDefault();
      decide(event.target.getAttribute("data-decision"));
    });

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      var target = event.target;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      if (event.key === "ArrowRight") { event.preventDefault(); decide("like"); }
      else if (event.key === "ArrowLeft") { event.preventDefault(); decide("skip"); }
    });

    // Touch / mouse drag: past a threshold the card flies out and the decision is made.
    function bindDrag(card) {
      var startX = null;
      var startY = 0;
      var dx = 0;
      var pointerId = null;
      var THRESHOLD = Math.min(110, window.innerWidth * 0.25);

      card.addEventListener("pointerdown", function (event) {
        if (busy || event.button > 0 || event.target.closest("a")) return;
        startX = event.clientX; startY = event.clientY; dx = 0; pointerId = event.pointerId;
        card.setPointerCapture(pointerId);
        card.classList.add("is-dragging");
      });
      card.addEventListener("pointermove", function (event) {
        if (startX === null || event.pointerId !== pointerId) return;
        dx = event.clientX - startX;
        var dy = event.clientY - startY;
        card.style.transform = "translate(" + dx + "px," + dy * 0.2 + "px) rotate(" + dx / 20 + "deg)";
        card.classList.toggle("lean-like", dx > THRESHOLD / 2);
        card.classList.toggle("lean-skip", dx < -THRESHOLD / 2);
      });
      function end(event) {
        if (startX === null || event.pointerId !== pointerId) return;
        startX = null;
        card.classList.remove("is-dragging", "lean-like", "lean-skip");
        if (Math.abs(dx) >= THRESHOLD) {
          card.style.transform = "";
          decide(dx > 0 ? "like" : "skip");
        } else {
          card.style.transform = "";
        }
      }
      card.addEventListener("pointerup", end);
      card.addEventListener("pointercancel", end);
    }

    var first = document.getElementById("swipe-card");
    if (first) bindDrag(first);
    root.setAttribute("data-ready", "true");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
