// Wenming case pages: the case's point on a map, and forms that send once. The pages work
// without this script; it only adds the map and guards against double submits.
(function () {
  "use strict";

  function setUpMap() {
    var host = document.getElementById("case-map");
    if (!host || !window.L) {
      return;
    }
    var L = window.L;
    var lon = Number(host.getAttribute("data-lon"));
    var lat = Number(host.getAttribute("data-lat"));
    if (!isFinite(lon) || !isFinite(lat)) {
      return;
    }
    var map = L.map(host, { minZoom: 3, maxZoom: 19, scrollWheelZoom: false });
    var tiles = host.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, {
        subdomains: host.getAttribute("data-tile-subdomains") || "abc",
        maxZoom: 19,
        maxNativeZoom: 18,
      }).addTo(map);
    }
    // Without tiles the point is drawn on the plain background, with a ring for scale.
    L.circle([lat, lon], {
      radius: 50,
      color: "#1a5ea8",
      weight: 1,
      fillOpacity: 0.08,
      interactive: false,
    }).addTo(map);
    L.circleMarker([lat, lon], {
      radius: 8,
      color: "#ffffff",
      weight: 2,
      fillColor: "#b8231f",
      fillOpacity: 1,
    }).addTo(map);
    map.setView([lat, lon], 17);
    host.setAttribute("data-state", "ready");
  }

  function setUpSendOnce() {
    // A page restored from the back/forward cache may be sent again.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) {
        return;
      }
      document.querySelectorAll("form[data-sent]").forEach(function (form) {
        form.removeAttribute("data-sent");
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          button.removeAttribute("aria-disabled");
          button.classList.remove("is-sending");
        });
      });
    });
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sent") === "true") {
          event.preventDefault();
          return;
        }
        form.setAttribute("data-sent", "true");
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          button.setAttribute("aria-disabled", "true");
          button.classList.add("is-sending");
        });
      });
    });
  }

  function openFiltersOnWideScreens() {
    // Phones keep the filters folded above the list; command-centre screens show them.
    if (!window.matchMedia("(min-width: 960px)").matches) {
      return;
    }
    document.querySelectorAll("details[data-open-wide]").forEach(function (details) {
      details.open = true;
    });
  }

  function setUp() {
    setUpMap();
    setUpSendOnce();
    openFiltersOnWideScreens();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
