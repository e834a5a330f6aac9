/* The service worker (served as /sw.js, scope "/"): keeps the registration page, the grid worker's home,
   their assets and the reference lists in them usable offline, and sends the outbox when Background Sync
   says the connection is back (outbox-core.js; the pages also send it on load and on "online").

   Pages are fetched from the network first and kept only when the network answered them whole (200, not
   redirected); static assets (public, the same for every user) are served from the cache first. The pages
   a user saw are kept in "mediation_flow.pages.*", which the pages delete at sign-out and on the login page. */
"use strict";
importScripts("/static/outbox-core.js");

var SHELL = "mediation_flow.shell.v8";  /* a new name when a kept asset changes: phones fetch them again */
var PAGES = "mediation_flow.pages.v1";
var ASSETS = [
  "/static/app.css",
  "/static/htmx.min.js",
  "/static/draft.js",
  "/static/outbox-core.js",
  "/static/outbox.js",
  "/static/register.js",
  "/static/icon.svg",
  "/static/icon-192.png",
  "/manifest.webmanifest"
];
var OFFLINE_PAGES = ["/register", "/grid"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(ASSETS); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("mediation_flow.") === 0 && n !== SHELL && n !== PAGES;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function page(title, text) {
  var body = "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
    "<link rel=\"stylesheet\" href=\"/static/app.css\"><title>" + title + " · 矛盾纠纷调解</title>" +
    "<main id=\"main\"><h1>" + title + "</h1><p>" + text + "</p></main></html>";
  return new Response(body, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function offlinePage() {
  return page("网络未连接", "此页面需要联网查看。离线时仍可<a href=\"/register\">登记纠纷</a>，联网后自动提交。");
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && url.pathname === "/logout") {
    /* the page has already deleted the outbox key; offline, the server cannot end the session yet */
    event.respondWith(fetch(request).catch(function () {
      return page("未联网，尚未退出", "本机未提交的登记已加密封存，他人无法查看。联网后请再点一次“退出”以结束登录。");
    }));
    return;
  }
  if (request.method !== "GET") { return; }
  if (url.pathname.indexOf("/static/") === 0 || url.pathname === "/manifest.webmanifest") {
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.status === 200) {
          var copy = response.clone();
          caches.open(SHELL).then(function (cache) { return cache.put(request, copy); });
        }
        return response;
      });
    }));
    return;
  }
  var hx = request.headers.get("HX-Request");
  var boosted = request.headers.get("HX-Boosted");
  if ((hx && !boosted) || (request.mode !== "navigate" && !boosted)) { return; }  /* fragments: network only */
  var keep = OFFLINE_PAGES.indexOf(url.pathname) >= 0 && !hx;
  event.respondWith(fetch(request).then(function (response) {
    if (keep && response.status === 200 && !response.redirected) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { return cache.put(url.pathname, copy); });
    }
    return response;
  }, function () {
    return caches.open(PAGES).then(function (cache) {
      return cache.match(url.pathname, { ignoreSearch: true, ignoreVary: true });
    }).then(function (hit) { return hit || offlinePage(); });
  }));
});

self.addEventListener("sync", function (event) {
  if (event.tag !== "outbox") { return; }
  event.waitUntil(self.mediationOutbox.sync().then(function (results) {
    return self.clients.matchAll({ type: "window" }).then(function (clients) {
      /* the answers go to the open pages: what the worker sent is listed there as sent, as if sent by the page */
      var sent = results.filter(function (r) { return r.state === "sent"; }).map(function (r) { return r.answer; });
      clients.forEach(function (client) { client.postMessage({ type: "outbox-synced", sent: sent }); });
    });
  }));
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "forget") {
    event.waitUntil(self.mediationOutbox.forgetSeal());
  }
});
