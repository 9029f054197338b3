// The phone app's service worker: keeps the app shell (pages, scripts, styles, Leaflet, icons)
// so the app opens without network. Pages are fetched from the network first and fall back to
// the stored copy; versioned assets come from the store first. The API is never cached.
"use strict";

var VERSION = "__VERSION__";
var CACHE = "wenming-app-" + VERSION;
var SHELL = /*SHELL*/[];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(CACHE)
      .then(function (cache) {
        return cache.addAll(SHELL);
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf("wenming-app-") === 0 && name !== CACHE;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
        return self.clients.claim();
      })
  );
});

function pageFromNetwork(request) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) {
        cache.put(request, copy);
      });
    }
    return response;
  });
}

function storedPage(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreSearch: true }).then(function (found) {
      return found || cache.match("/m/");
    });
  }).then(function (found) {
    return found || Response.error();
  });
}

function assetFromStore(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (found) {
      if (found) {
        return found;
      }
      return fetch(request).then(function (response) {
        if (response.ok) {
          cache.put(request, response.clone());
        }
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (url.pathname.indexOf("/api/") === 0 || url.pathname === "/m/csrf") {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(
      pageFromNetwork(request).catch(function () {
        return storedPage(request);
      })
    );
    return;
  }
  if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/m/") === 0) {
    event.respondWith(assetFromStore(request));
  }
});
