// The public map: open reports as pins (closed and old ones only when asked for), filtered by
// category and state, with the same reports listed under the map.
(function () {
  "use strict";

  var WM = window.WM;
  var node = document.getElementById("public-map");
  if (!node || !WM) {
    return;
  }
  var crs = node.getAttribute("data-crs") || "wgs84";
  var map = WM.map(node);
  var layer = map ? L.layerGroup().addTo(map) : null;
  var filters = document.getElementById("map-filters");
  var status = document.getElementById("map-status");
  var listNode = document.getElementById("map-list");
  var english = document.documentElement.lang === "en";

  function load() {
    var query = new URLSearchParams({ crs: crs, page_size: "500" });
    var category = filters.category.value;
    var state = filters.state.value;
    if (category) {
      query.append("category", category);
    }
    if (state) {
      query.append("state", state);
    }
    if (filters.include_closed.checked) {
      query.append("include_closed", "true");
    }
    if (filters.include_old.checked) {
      query.append("include_old", "true");
    }
    status.textContent = WM.t("loading");
    WM.api("/api/v1/app/public?" + query.toString()).then(
      function (result) {
        if (!result.ok) {
          status.textContent = WM.t("error", { reason: WM.problem(result) });
          return;
        }
        if (layer) {
          layer.clearLayers();
        }
        listNode.textContent = "";
        result.data.forEach(function (item) {
          var name = english ? item.category.name_en : item.category.name_zh;
          var stateName = WM.config.states[item.state] || item.state;
          if (layer && item.lat !== null && item.lon !== null) {
            var pin = L.circleMarker([item.lat, item.lon], {
              radius: 8,
              color: "#ffffff",
              weight: 2,
              fillColor: item.status === "open" ? "#b8231f" : "#1d7144",
              fillOpacity: 0.9,
            });
            var popup = WM.el("div", {}, [
              WM.el("strong", { text: name }),
              WM.el("br"),
              stateName,
              WM.el("br"),
              WM.el("a", { href: "/m/r/" + item.code, text: WM.t("details") }),
            ]);
            pin.bindPopup(popup);
            layer.addLayer(pin);
          }
          listNode.appendChild(
            WM.el("li", { class: "report-card" }, [
              WM.el("a", { class: "report-link", href: "/m/r/" + item.code }, [
                WM.el("span", { class: "cat-icon cat-" + item.category.icon, "aria-hidden": "true" }),
                WM.el("span", { class: "report-main" }, [
                  WM.el("strong", { text: name }),
                  WM.el("span", { class: "state state-" + item.state, text: stateName }),
                  WM.el("span", { class: "report-address", text: item.address }),
                ]),
              ]),
            ])
          );
        });
        node.setAttribute("data-count", String(result.data.length));
        status.textContent = result.data.length ? "" : WM.t("no_public");
      },
      function () {
        status.textContent = WM.t("offline");
      }
    );
  }

  filters.addEventListener("change", load);
  filters.addEventListener("submit", function (event) {
    event.preventDefault();
    load();
  });
  load();
})();
