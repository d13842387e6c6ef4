/*
 * The page scripts' one way to call the console's JSON API with the staff session (the CSRF
 * token from its cookie): consoleApi.call(method, url, body) → a promise of
 * {status, body (parsed JSON or null), retryAfter (seconds, for a 429 or 503)}; it fails only
 * when the server could not be reached.
 */
(function () {
  "use strict";

  function call(method, url, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken");
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        var retryAfter = Math.max(1, parseInt(response.headers.get("Retry-After"), 10) || 5);
        return response.text().then(function (text) {
          var parsed = null;
          try { parsed = text ? JSON.parse(text) : null; } catch (error) { parsed = null; }
          return { status: response.status, body: parsed, retryAfter: retryAfter };
        });
      });
  }

  function cookie(name) {
    var found = document.cookie.split(";").map(function (part) { return part.trim(); })
      .filter(function (part) { return part.indexOf(name + "=") === 0; })[0];
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  }

  window.consoleApi = { call: call, cookie: cookie };
})();
