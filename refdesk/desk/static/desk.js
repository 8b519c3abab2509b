// refdesk desk: small helpers shared by the pages. No inline scripts (the page's
// Content-Security-Policy forbids them), nothing loaded from elsewhere.
"use strict";

(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute("content") : "";

  // fetch with the session's CSRF token on every request, same origin only.
  function deskFetch(url, options) {
    const opts = Object.assign({ credentials: "same-origin" }, options || {});
    const headers = new Headers(opts.headers || {});
    headers.set("X-CSRF-Token", csrf);
    opts.headers = headers;
    return fetch(url, opts);
  }

  // POST a form's fields (or a plain object) and return the parsed JSON answer.
  async function postJSON(url, data) {
    const body = data instanceof FormData ? data : new URLSearchParams(data || {});
    const response = await deskFetch(url, { method: "POST", body: body });
    if (!response.ok) {
      throw new Error("The desk answered " + response.status + "; reload the page.");
    }
    return response.json();
  }

  // Poll `url` (GET, JSON) every `interval` ms until `done(answer)` is true; `each(answer)`
  // sees every answer. Resolves with the last answer.
  function poll(url, each, done, interval) {
    return new Promise(function (resolve, reject) {
      function tick() {
        deskFetch(url).then(function (r) {
          if (!r.ok) { throw new Error("The desk answered " + r.status + "."); }
          return r.json();
        }).then(function (answer) {
          if (each) { each(answer); }
          if (done(answer)) { resolve(answer); } else { setTimeout(tick, interval || 500); }
        }).catch(reject);
      }
      tick();
    });
  }

  // Set an element's text safely (never innerHTML with data).
  function setText(selectorOrElement, text) {
    const el = typeof selectorOrElement === "string"
      ? document.querySelector(selectorOrElement) : selectorOrElement;
    if (el) { el.textContent = text; }
    return el;
  }

  // <select data-autosubmit> submits its form on change (filters).
  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target && target.matches && target.matches("[data-autosubmit]") && target.form) {
      target.form.requestSubmit ? target.form.requestSubmit() : target.form.submit();
    }
  });

  // A GET form (a filter) leaves its empty fields out of the address: /ledger?job=thank-you.
  document.addEventListener("formdata", function (event) {
    const form = event.target;
    if (!form || (form.getAttribute("method") || "get").toLowerCase() !== "get") { return; }
    Array.from(event.formData.keys()).forEach(function (key) {
      if (event.formData.getAll(key).every(function (v) { return v === ""; })) {
        event.formData.delete(key);
      }
    });
  });

  // <button data-confirm="..."> asks first.
  document.addEventListener("click", function (event) {
    const button = event.target && event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  window.desk = { csrf: csrf, fetch: deskFetch, postJSON: postJSON, poll: poll, setText: setText };
})();
