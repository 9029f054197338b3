// Wenming map page: streets, communities, grids, inspection points and components on Leaflet.
// Data comes from this site only (the geography API); names are shown as text, never as HTML.
(function () {
  "use strict";

  var host = document.getElementById("map");
  var configElement = document.getElementById("map-config");
  if (!host || !configElement || !window.L) {
    return;
  }
  var L = window.L;
  var config = JSON.parse(configElement.textContent);
  var text = config.text;
  var statusLine = document.getElementById("map-status");
  var details = document.getElementById("map-details");
  var crs = host.getAttribute("data-crs") || "wgs84";
  var layersUrl = host.getAttribute("data-layers-url");
  var gridUrl = host.getAttribute("data-grid-url");
  var locateUrl = host.getAttribute("data-locate-url");
  var LAYERS = ["street", "community", "grid", "point", "component"];
  var BOUNDARY_STYLES = {
    street: { color: "#0f2c4c", weight: 2.5, opacity: 0.9, fill: false, interactive: false },
    community: {
      color: "#5a6878",
      weight: 1.4,
      opacity: 0.9,
      dashArray: "5 4",
      fill: false,
      interactive: false,
    },
  };
  var GRID_STYLE = {
    color: "#1a5ea8",
    weight: 0.8,
    opacity: 0.65,
    fillColor: "#1a5ea8",
    fillOpacity: 0.04,
    className: "wm-grid",
  };
  var GRID_HOVER = { weight: 2, opacity: 1, fillOpacity: 0.16 };
  var SELECTED = { color: "#b8231f", weight: 3, opacity: 1 };

  var map = L.map(host, { minZoom: 3, maxZoom: 19, zoomSnap: 0.5 });
  map.setView([35.0, 105.0], 4);
  var tiles = host.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, {
      subdomains: host.getAttribute("data-tile-subdomains") || "abc",
      maxZoom: 19,
      maxNativeZoom: 18,
    }).addTo(map);
  }
  LAYERS.forEach(function (name, order) {
    map.createPane("wm-" + name).style.zIndex = String(410 + order * 10);
  });

  var groups = {};
  var counts = {};
  var index = {};
  var typeGroups = {};
  var statusGroups = {};
  var selected = null;
  var locationMarker = null;
  LAYERS.forEach(function (name) {
    groups[name] = L.featureGroup();
    counts[name] = 0;
  });
  var typeInfo = {};
  config.types.forEach(function (type) {
    typeInfo[type.code] = type;
  });
  var statusInfo = {};
  config.statuses.forEach(function (status) {
    statusInfo[status.code] = status;
  });

  // Small helpers ----------------------------------------------------------------------------

  function format(message, values) {
    return message.replace(/%\((\w+)\)s/g, function (_match, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content !== undefined && content !== null) {
      node.textContent = String(content);
    }
    return node;
  }

  function say(message) {
    statusLine.textContent = message;
  }

  function area(value) {
    if (value === undefined || value === null) {
      return "";
    }
    return Math.round(value).toLocaleString() + " m²";
  }

  function colourOfType(code) {
    return typeInfo[code] ? typeInfo[code].colour : "#546e7a";
  }

  function fetchJson(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/geo+json, application/json" },
    }).then(function (response) {
      return response.json().then(
        function (body) {
          return { ok: response.ok, status: response.status, body: body };
        },
        function () {
          return { ok: false, status: response.status, body: {} };
        }
      );
    });
  }

  // The details panel --------------------------------------------------------------------------

  function showDetails(kind, code, rows, synthetic, extra) {
    details.replaceChildren();
    var heading = element("h2", "map-details-title");
    heading.append(element("span", "map-details-kind", text[kind]), " ");
    heading.append(element("code", "map-details-code", code));
    if (synthetic) {
      heading.append(" ", element("span", "badge badge-muted", text.synthetic));
    }
    details.append(heading);
    var facts = element("dl", "facts");
    rows.forEach(function (row) {
      if (row[1] === undefined || row[1] === null || row[1] === "") {
        return;
      }
      var line = element("div");
      line.append(element("dt", "", row[0]), element("dd", "", row[1]));
      facts.append(line);
    });
    details.append(facts);
    if (extra) {
      details.append(extra);
    }
    details.hidden = false;
  }

  function workerList(workers) {
    var block = element("div", "map-workers");
    block.append(element("h3", "", text.workers));
    if (!workers.length) {
      block.append(element("p", "muted", text.no_workers));
      return block;
    }
    var list = element("ul", "map-worker-list");
    workers.forEach(function (worker) {
      var item = element("li", "", worker.display_name);
      if (worker.phone) {
        item.append(" ", element("span", "muted", worker.phone));
      }
      list.append(item);
    });
    block.append(list);
    return block;
  }

  function showGridDetails(code) {
    return fetchJson(gridUrl.replace("{code}", encodeURIComponent(code))).then(
      function (result) {
        if (!result.ok) {
          say(result.body.detail || text.details_failed);
          return;
        }
        var grid = result.body;
        var party = grid.responsible_party;
        if (grid.responsible_party_is_fallback) {
          party = party + " (" + text.fallback + ")";
        }
        showDetails(
          "grid",
          grid.code,
          [
            [text.community, grid.community_name + " " + grid.community_code],
            [text.street, grid.street_name ? grid.street_name + " " + grid.street_code : ""],
            [text.area, area(grid.area_m2)],
            [text.land_use, grid.land_use],
            [text.grade, grid.management_grade],
            [text.party, party],
          ],
          grid.synthetic,
          workerList(grid.workers || [])
        );
      },
      function () {
        say(text.details_failed);
      }
    );
  }

  function showFeatureDetails(entry) {
    var p = entry.feature.properties;
    if (entry.kind === "grid") {
      return showGridDetails(p.code);
    }
    if (entry.kind === "street" || entry.kind === "community") {
      showDetails(entry.kind, p.code, [[text.name, p.name], [text.area, area(p.area_m2)]], p.synthetic);
    } else if (entry.kind === "point") {
      var type = typeInfo[p.location_type];
      showDetails(
        "point",
        p.code,
        [
          [text.name, p.name],
          [text.type, type ? type.name : p.location_type_name || p.location_type],
          [text.unit, p.unit_code],
          [text.grid, p.grid_code],
          [text.area, area(p.area_m2)],
        ],
        p.synthetic
      );
    } else {
      var status = statusInfo[p.status];
      showDetails(
        "component",
        p.code,
        [
          [text.name, p.name],
          [text.class, p.class_code + " / " + p.subclass_code],
          [text.status, status ? status.name : p.status],
          [text.owner, p.owner_department_code],
          [text.maintainer, p.maintainer_department_code],
          [text.unit, p.unit_code],
          [text.grid, p.grid_code || text.none],
        ],
        p.synthetic
      );
    }
    return Promise.resolve();
  }

  // Selection and zooming ----------------------------------------------------------------------

  function restyle(entry) {
    if (entry.kind === "grid") {
      entry.layer.setStyle(GRID_STYLE);
    } else if (entry.kind === "street" || entry.kind === "community") {
      entry.layer.setStyle(BOUNDARY_STYLES[entry.kind]);
    } else if (entry.baseStyle) {
      entry.layer.setStyle(entry.baseStyle);
    }
  }

  function select(entry) {
    if (selected && selected !== entry) {
      restyle(selected);
    }
    selected = entry;
    if (entry.layer.setStyle) {
      entry.layer.setStyle(SELECTED);
    }
    if (entry.layer.bringToFront) {
      entry.layer.bringToFront();
    }
    return showFeatureDetails(entry);
  }

  function showLayer(name) {
    var toggle = document.querySelector('[data-layer-toggle="' + name + '"]');
    if (toggle && !toggle.checked) {
      toggle.checked = true;
    }
    if (!map.hasLayer(groups[name])) {
      groups[name].addTo(map);
    }
  }

  function focusEntry(entry) {
    showLayer(entry.kind);
    if (entry.layer.getBounds) {
      map.fitBounds(entry.layer.getBounds(), { maxZoom: 18, padding: [24, 24] });
    } else {
      map.setView(entry.layer.getLatLng(), 18);
    }
    return select(entry);
  }

  // Building the layers ------------------------------------------------------------------------

  function register(kind, feature, layer, baseStyle) {
    var entry = { kind: kind, feature: feature, layer: layer, baseStyle: baseStyle };
    index[feature.properties.code] = entry;
    counts[kind] += 1;
    return entry;
  }

  function tooltip(lines) {
    var box = element("div", "map-tooltip-body");
    lines.forEach(function (line, position) {
      if (line) {
        box.append(element(position === 0 ? "strong" : "div", "", line));
      }
    });
    return box;
  }

  function clickable(entry) {
    entry.layer.on("click", function (event) {
      L.DomEvent.stopPropagation(event);
      select(entry);
    });
  }

  function buildBoundaries(kind, data) {
    L.geoJSON(data, {
      pane: "wm-" + kind,
      style: BOUNDARY_STYLES[kind],
      onEachFeature: function (feature, layer) {
        register(kind, feature, layer);
        groups[kind].addLayer(layer);
      },
    });
  }

  function buildGrids(data) {
    L.geoJSON(data, {
      pane: "wm-grid",
      style: GRID_STYLE,
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        var entry = register("grid", feature, layer);
        layer.bindTooltip(tooltip([p.code, p.community_name]), {
          sticky: true,
          direction: "top",
          className: "map-tooltip",
        });
        layer.on("mouseover", function () {
          if (selected !== entry) {
            layer.setStyle(GRID_HOVER);
          }
        });
        layer.on("mouseout", function () {
          if (selected !== entry) {
            layer.setStyle(GRID_STYLE);
          }
        });
        clickable(entry);
        groups.grid.addLayer(layer);
      },
    });
  }

  function pointStyle(colour, geometryType) {
    if (geometryType === "LineString" || geometryType === "MultiLineString") {
      return { pane: "wm-point", color: colour, weight: 4, opacity: 0.9, className: "wm-point" };
    }
    if (geometryType === "Point") {
      return {
        pane: "wm-point",
        radius: 6,
        color: "#ffffff",
        weight: 1.5,
        fillColor: colour,
        fillOpacity: 0.95,
        className: "wm-point",
      };
    }
    return {
      pane: "wm-point",
      color: colour,
      weight: 1.5,
      opacity: 0.9,
      fillColor: colour,
      fillOpacity: 0.3,
      className: "wm-point",
    };
  }

  function groupFor(collection, container, key) {
    if (!collection[key]) {
      collection[key] = { layer: L.layerGroup().addTo(container), count: 0 };
    }
    collection[key].count += 1;
    return collection[key].layer;
  }

  function buildPoints(data) {
    data.features.forEach(function (feature) {
      var p = feature.properties;
      var style = pointStyle(colourOfType(p.location_type), feature.geometry.type);
      var layer = L.geoJSON(feature, {
        pane: "wm-point",
        style: style,
        pointToLayer: function (_feature, latlng) {
          return L.circleMarker(latlng, style);
        },
      })
        .getLayers()[0];
      var entry = register("point", feature, layer, style);
      var type = typeInfo[p.location_type];
      layer.bindTooltip(tooltip([p.name, type ? type.name : p.location_type_name]), {
        sticky: true,
        className: "map-tooltip",
      });
      clickable(entry);
      groupFor(typeGroups, groups.point, p.location_type).addLayer(layer);
    });
  }

  function buildComponents(data) {
    data.features.forEach(function (feature) {
      var p = feature.properties;
      var coordinates = feature.geometry.coordinates;
      var status = statusInfo[p.status];
      var style = {
        pane: "wm-component",
        radius: 4,
        color: "#ffffff",
        weight: 1,
        fillColor: status ? status.colour : "#546e7a",
        fillOpacity: 1,
        className: "wm-component",
      };
      var layer = L.circleMarker([coordinates[1], coordinates[0]], style);
      var entry = register("component", feature, layer, style);
      layer.bindTooltip(tooltip([p.name || p.code, p.code, status ? status.name : p.status]), {
        className: "map-tooltip",
      });
      clickable(entry);
      groupFor(statusGroups, groups.component, p.status).addLayer(layer);
    });
  }

  var BUILDERS = {
    street: function (data) {
      buildBoundaries("street", data);
    },
    community: function (data) {
      buildBoundaries("community", data);
    },
    grid: buildGrids,
    point: buildPoints,
    component: buildComponents,
  };

  // Legends and toggles ------------------------------------------------------------------------

  function legendEntry(name, colour, count, layer) {
    var item = element("li");
    var label = element("label", "map-entry");
    var box = element("input");
    box.type = "checkbox";
    box.checked = true;
    box.addEventListener("change", function () {
      if (box.checked) {
        layer.addTo(map);
      } else {
        layer.remove();
      }
    });
    var swatch = element("span", "map-swatch");
    swatch.style.backgroundColor = colour;
    label.append(box, swatch, element("span", "", name), element("span", "map-count", count));
    item.append(label);
    return item;
  }

  function buildLegends() {
    var types = document.getElementById("map-legend-types");
    config.types.forEach(function (type) {
      var group = typeGroups[type.code];
      if (group) {
        types.append(legendEntry(type.name, type.colour, group.count, group.layer));
      }
    });
    var statuses = document.getElementById("map-legend-statuses");
    config.statuses.forEach(function (status) {
      var group = statusGroups[status.code];
      if (group) {
        statuses.append(legendEntry(status.name, status.colour, group.count, group.layer));
      }
    });
  }

  function setUpToggles() {
    document.querySelectorAll("[data-layer-toggle]").forEach(function (toggle) {
      var name = toggle.getAttribute("data-layer-toggle");
      toggle.addEventListener("change", function () {
        if (toggle.checked) {
          groups[name].addTo(map);
        } else {
          groups[name].remove();
        }
      });
    });
  }

  // Finding a place ----------------------------------------------------------------------------

  function markPlace(lat, lng) {
    if (locationMarker) {
      locationMarker.remove();
    }
    locationMarker = L.circleMarker([lat, lng], {
      radius: 7,
      color: "#b8231f",
      weight: 3,
      fillColor: "#ffffff",
      fillOpacity: 1,
      interactive: false,
      className: "wm-place",
    }).addTo(map);
  }

  function nearestButton(code) {
    var button = element("button", "btn btn-small", text.show_on_map + " " + code);
    button.type = "button";
    button.addEventListener("click", function () {
      var entry = index[code];
      if (entry) {
        focusEntry(entry);
      }
    });
    return button;
  }

  function locate(lng, lat, zoom) {
    var query = "?lon=" + encodeURIComponent(lng) + "&lat=" + encodeURIComponent(lat);
    markPlace(lat, lng);
    return fetchJson(locateUrl + query + "&crs=" + encodeURIComponent(crs)).then(
      function (result) {
        if (result.ok) {
          var code = result.body.grid.code;
          say(format(text.located, { code: code }));
          var entry = index[code];
          if (!entry) {
            return showGridDetails(code);
          }
          if (zoom) {
            return focusEntry(entry);
          }
          return select(entry);
        }
        var nearest = result.body.nearest_grid;
        if (nearest) {
          var message = format(text.outside, {
            code: nearest.code,
            distance: Math.round(nearest.distance_m),
          });
          say(message);
          if (zoom) {
            map.setView([lat, lng], Math.max(map.getZoom(), 15));
          }
          var paragraph = element("p", "", message);
          details.replaceChildren(paragraph);
          if (index[nearest.code]) {
            details.append(nearestButton(nearest.code));
          }
          details.hidden = false;
          return;
        }
        say(result.body.detail || text.details_failed);
      },
      function () {
        say(text.details_failed);
      }
    );
  }

  // An older 14-digit grid code: the server knows which 15-digit grid it is now.
  function findOlderGridCode(query) {
    fetchJson(gridUrl.replace("{code}", encodeURIComponent(query))).then(function (result) {
      var entry = result.ok ? index[result.body.code] : null;
      if (entry) {
        say("");
        focusEntry(entry);
      } else {
        say(format(text.not_found, { code: query }));
      }
    });
  }

  function setUpSearch() {
    var form = document.getElementById("map-search");
    var input = document.getElementById("map-search-query");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = input.value.trim();
      if (!query) {
        say(text.empty_search);
        return;
      }
      var position = /^(-?\d{1,3}(?:\.\d+)?)\s*[,，\s]\s*(-?\d{1,2}(?:\.\d+)?)$/.exec(query);
      if (position) {
        locate(parseFloat(position[1]), parseFloat(position[2]), true);
        return;
      }
      var entry = index[query] || index[query.toUpperCase()];
      if (entry) {
        say("");
        focusEntry(entry);
      } else if (/^\d{14}$/.test(query)) {
        findOlderGridCode(query);
      } else {
        say(format(text.not_found, { code: query }));
      }
    });
  }

  // Start --------------------------------------------------------------------------------------

  function fitToData() {
    for (var i = 0; i < LAYERS.length; i += 1) {
      var bounds = groups[LAYERS[i]].getBounds();
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [12, 12] });
        return true;
      }
    }
    return false;
  }

  function load(name) {
    return fetchJson(layersUrl.replace("{layer}", name)).then(
      function (result) {
        if (!result.ok) {
          return false;
        }
        BUILDERS[name](result.body);
        return true;
      },
      function () {
        return false;
      }
    );
  }

  setUpToggles();
  setUpSearch();
  map.on("click", function (event) {
    locate(event.latlng.lng, event.latlng.lat, false);
  });
  Promise.all(LAYERS.map(load)).then(function (loaded) {
    LAYERS.forEach(function (name) {
      groups[name].addTo(map);
      host.setAttribute("data-count-" + name, String(counts[name]));
      var counter = document.querySelector('[data-layer-count="' + name + '"]');
      if (counter) {
        counter.textContent = String(counts[name]);
      }
    });
    buildLegends();
    var found = fitToData();
    if (loaded.indexOf(false) !== -1) {
      say(text.load_failed);
    } else {
      say(found ? text.ready : text.nothing_visible);
    }
    host.setAttribute("data-state", "ready");
  });

  window.wenmingMap = { map: map, layers: groups, index: index, counts: counts };
})();
