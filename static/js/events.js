/* Vitrine events: batched, idempotent event sending (views, dwell, clicks) to POST /api/v1/events/.
   Each event gets a client id when it is tracked, so a batch that is retried after a network error is never
   counted twice. Batches go out every few seconds, when 20 are waiting, and when the page is hidden (keepalive).
   Dependency-free; exposes window.Vitrine.events and Vitrine.csrfToken / Vitrine.postForm for the other scripts. */
(function () {
  "use strict";
  var Vitrine = (window.Vitrine = window.Vitrine || {});
  if (Vitrine.events) return;

  var ENDPOINT = "/api/v1/events/";
  var FLUSH_MS = 4000;
  var MAX_BATCH = 20;
  var queue = [];
  var timer = null;
  var sequence = 0;
  var pageId = randomId(8);

  function randomId(bytes) {
    var data = new Uint8Array(bytes);
    (window.crypto || window.msCrypto).getRandomValues(data);
    return Array.prototype.map.call(data, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) return meta.content;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function device() {
    var width = Math.min(window.screen ? window.screen.width : window.innerWidth, window.innerWidth);
    var coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    if (coarse && width < 768) return "mobile";
    if (coarse) return "tablet";
    return "desktop";
  }

  function track(type, item, options) {
    options = options || {};
    var context = { device: device(), local_hour: new Date().getHours() };
    if (options.surface) context.surface = String(options.surface).slice(0, 24);
    if (options.requestId) context.request_id = String(options.requestId).slice(0, 64);
    var event = {
      client_event_id: "w-" + pageId + "-" + (++sequence) + "-" + randomId(4),
      item: Number(item),
      event_type: type,
      timestamp: new Date().toISOString(),
      context: context
    };
    if (options.value !== undefined) event.value = options.value;
    queue.push(event);
    if (queue.length >= MAX_BATCH) flush(false);
    else if (!timer) timer = window.setTimeout(function () { flush(false); }, FLUSH_MS);
    return event.client_event_id;
  }

  function flush(leaving) {
    if (timer) { window.clearTimeout(timer); timer = null; }
    if (!queue.length) return Promise.resolve();
    var batch = queue.splice(0, MAX_BATCH);
    var request = fetch(ENDPOINT, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!leaving,
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(batch)
    }).then(function (response) {
      // 5xx / 429: try again later with the same client ids (idempotent); 4xx: the batch is refused, drop it.
      if (response.status >= 500 || response.status === 429) queue = batch.concat(queue);
    }, function () {
      queue = batch.concat(queue);
    });
    if (queue.length && !leaving) timer = window.setTimeout(function () { flush(false); }, FLUSH_MS);
    return request;
  }

  /* Dwell: seconds an element was visible (at least half of it) while the tab was visible. */
  function Dwell(onDone) {
    this.started = null;
    this.total = 0;
    this.onDone = onDone;
  }
  Dwell.prototype.start = function () { if (this.started === null) this.started = performance.now(); };
  Dwell.prototype.stop = function () {
    if (this.started !== null) { this.total += (performance.now() - this.started) / 1000; this.started = null; }
  };
  Dwell.prototype.report = function () {
    this.stop();
    var seconds = Math.round(this.total * 10) / 10;
    this.total = 0;
    if (seconds >= 1) this.onDone(Math.min(seconds, 86400));
  };

  /* POST a form with fetch, asking for JSON. Resolves with the parsed body; rejects on an HTTP error. */
  function postForm(form, extra) {
    var data = new FormData(form);
    Object.keys(extra || {}).forEach(function (key) { data.set(key, extra[key]); });
    return fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: data
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) throw new Error(body.detail || "Request failed");
        return body;
      });
    });
  }

  function postJson(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) throw new Error(body.detail || "Request failed");
        return body;
      });
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
  });
  window.addEventListener("pagehide", function () { flush(true); });

  /* Item page: a view on load, dwell when the page is left or hidden; the Like button without a reload. */
  function initItemPage() {
    var article = document.querySelector("[data-track-view]");
    if (!article) return;
    var item = article.getAttribute("data-item-id");
    var surface = article.getAttribute("data-track-view");
    track("view", item, { surface: surface });
    var dwell = new Dwell(function (seconds) { track("dwell", item, { surface: surface, value: seconds }); });
    if (document.visibilityState === "visible") dwell.start();
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { dwell.report(); flush(true); } else dwell.start();
    }, true);
    window.addEventListener("pagehide", function () { dwell.report(); flush(true); }, true);

    var likeForm = document.querySelector(".item-like");
    if (likeForm) {
      likeForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = likeForm.querySelector("button");
        if (button.getAttribute("aria-pressed") === "true") return;
        button.disabled = true;
        postForm(likeForm).then(function () {
          button.setAttribute("aria-pressed", "true");
          likeForm.querySelector(".like-label").textContent = "Liked";
        }).catch(function () {}).then(function () { button.disabled = false; });
      });
    }
  }

  Vitrine.events = { track: track, flush: flush, Dwell: Dwell, pending: function () { return queue.length; } };
  Vitrine.csrfToken = csrfToken;
  Vitrine.postForm = postForm;
  Vitrine.postJson = postJson;
  Vitrine.randomId = randomId;

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initItemPage);
  else initItemPage();
})();
