// Model versions in the admin: live progress of running versions on the list (data-progress-url: poll them,
// reload when one finishes), and a reload every few seconds on a pending version's page (data-reload-seconds).
// A static file, so the Content-Security-Policy needs no inline script.
(function () {
  "use strict";
  var script = document.currentScript;
  var progressUrl = script.dataset.progressUrl;
  var reloadSeconds = Number(script.dataset.reloadSeconds || 0);

  if (reloadSeconds > 0) {
    setTimeout(function () { location.reload(); }, reloadSeconds * 1000);
  }
  if (!progressUrl) {
    return;
  }
  async function tick() {
    try {
      const response = await fetch(progressUrl, {credentials: "same-origin"});
      const running = new Map((await response.json()).versions.map(v => [String(v.id), v]));
      let finished = false;
      document.querySelectorAll(".vitrine-progress").forEach(el => {
        const v = running.get(el.dataset.version);
        if (!v) { finished = true; return; }
        el.querySelector("progress").value = v.progress;
        el.querySelector(".vitrine-progress-label").textContent = `${Math.round(v.progress)}% ${v.stage}`;
      });
      if (finished || running.size > document.querySelectorAll(".vitrine-progress").length) { location.reload(); return; }
    } catch (e) { /* try again on the next tick */ }
    setTimeout(tick, 2000);
  }
  setTimeout(tick, 2000);
})();
