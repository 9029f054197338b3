// Wenming hotline desk: the caller's earlier cases as the number is typed, address suggestions
// from the gazetteer (↑/↓ and Enter), a category picker that filters as you type, the map (a click
// chooses the place) and Ctrl+Enter to record the call from any field.
(function () {
  "use strict";

  var SEARCH_DELAY_MS = 200;
  var CALLER_DELAY_MS = 350;
  var PHONE = /^\+?[0-9]{5,15}$/;

  var configElement = document.getElementById("hotline-config");
  var form = document.getElementById("hotline-form");
  if (!configElement || !form) {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  var text = config.text;
  var lonInput = document.getElementById("lon");
  var latInput = document.getElementById("lat");
  var pointNote = document.getElementById("address-point");
  // What the note under the address says when no search is under way: the chosen point, or how.
  var restingNote = pointNote.textContent;

  function say(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) {
      return values[name] === undefined || values[name] === null ? "" : String(values[name]);
    });
  }

  function debounce(run, delay) {
    var timer = null;
    return function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(run, delay);
    };
  }

  // --- GCJ-02 display (the map draws in the tile source's system; positions are WGS-84) -------

  // [lat, lon] of a WGS-84 point as the map draws it (Leaflet's order).
  function toDisplay(lon, lat) {
    var shown = config.crs === "gcj02" ? window.WenmingGcj02.fromWgs84(lon, lat) : [lon, lat];
    return [shown[1], shown[0]];
  }

  // --- the map ---------------------------------------------------------------------------------

  var map = null;
  var marker = null;

  function showPoint(lon, lat) {
    if (!map) {
      return;
    }
    var at = toDisplay(lon, lat);
    if (marker) {
      marker.setLatLng(at);
    } else {
      marker = window.L.circleMarker(at, {
        radius: 8,
        color: "#ffffff",
        weight: 2,
        fillColor: "#b8231f",
        fillOpacity: 1,
      }).addTo(map);
    }
    map.setView(at, Math.max(map.getZoom() || 0, 17));
  }

  function setUpMap() {
    var host = document.getElementById("hotline-map");
    if (!host || !window.L) {
      return;
    }
    var L = window.L;
    map = L.map(host, { minZoom: 3, maxZoom: 19, scrollWheelZoom: true });
    if (config.tiles) {
      L.tileLayer(config.tiles, {
        subdomains: config.subdomains || "abc",
        maxZoom: 19,
        maxNativeZoom: 18,
      }).addTo(map);
    }
    map.setView([35.0, 105.0], 4);
    var chosen = pointOf();
    fetch(config.layers_url, { headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (collection) {
        if (collection && collection.features && collection.features.length) {
          var streets = L.geoJSON(collection, {
            style: { color: "#173c63", weight: 1, fillOpacity: 0.03 },
            interactive: false,
          }).addTo(map);
          if (!pointOf()) {
            map.fitBounds(streets.getBounds());
          }
        }
        host.setAttribute("data-state", "ready");
      })
      .catch(function () {
        host.setAttribute("data-state", "ready");
      });
    if (chosen) {
      showPoint(chosen[0], chosen[1]);
    }
    map.on("click", function (event) {
      var params = new URLSearchParams({
        lon: event.latlng.lng.toFixed(7),
        lat: event.latlng.lat.toFixed(7),
        crs: config.crs,
      });
      fetch(config.reverse_url + "?" + params.toString(), {
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (answer) {
          var label = answer.label || "";
          if (label) {
            addressInput.value = label;
          }
          choosePoint(answer.wgs84.lon, answer.wgs84.lat, label || text.map_point, answer.grid_code);
          if (!label) {
            pointNote.textContent += " " + text.reverse_failed;
          }
        })
        .catch(function () {
          pointNote.textContent = text.reverse_failed;
        });
    });
  }

  // --- the point and the address -----------------------------------------------------------------

  var addressInput = document.getElementById("address");
  var chosenLabel = addressInput.value;

  function pointOf() {
    var lon = parseFloat(lonInput.value);
    var lat = parseFloat(latInput.value);
    return isFinite(lon) && isFinite(lat) ? [lon, lat] : null;
  }

  function choosePoint(lon, lat, label, grid) {
    lonInput.value = lon.toFixed(7);
    latInput.value = lat.toFixed(7);
    chosenLabel = addressInput.value;
    restingNote = grid
      ? say(text.chosen, { label: label, grid: grid })
      : say(text.chosen_no_grid, { label: label });
    pointNote.textContent = restingNote;
    form.setAttribute("data-point", "chosen");
    showPoint(lon, lat);
  }

  function clearPoint() {
    lonInput.value = "";
    latInput.value = "";
    chosenLabel = "";
    restingNote = pointNote.getAttribute("data-how");
    form.removeAttribute("data-point");
  }

  // A listbox under a text field: ↑/↓ move, Enter takes, Escape closes; the field keeps focus.
  function Listbox(input, list, onTake) {
    this.input = input;
    this.list = list;
    this.onTake = onTake;
    this.items = [];
    this.active = -1;
    var self = this;
    list.addEventListener("mousedown", function (event) {
      event.preventDefault(); // keep the focus in the field
      var option = event.target.closest("[role=option]");
      if (option) {
        self.take(Number(option.getAttribute("data-index")));
      }
    });
    input.addEventListener("blur", function () {
      self.close();
    });
  }

  Listbox.prototype.show = function (entries) {
    // entries: [{group: "…"} | {label: "…", detail: "…", value: any}]
    var list = this.list;
    list.textContent = "";
    this.items = [];
    var self = this;
    entries.forEach(function (entry) {
      var li = document.createElement("li");
      if (entry.group) {
        li.setAttribute("role", "presentation");
        li.className = "hotline-group";
        li.textContent = entry.group;
        list.appendChild(li);
        return;
      }
      var index = self.items.length;
      li.setAttribute("role", "option");
      li.id = list.id + "-" + index;
      li.setAttribute("data-index", String(index));
      li.setAttribute("aria-selected", "false");
      var main = document.createElement("span");
      main.textContent = entry.label;
      li.appendChild(main);
      if (entry.detail) {
        var detail = document.createElement("span");
        detail.className = "hotline-option-detail";
        detail.textContent = entry.detail;
        li.appendChild(detail);
      }
      list.appendChild(li);
      self.items.push({ element: li, value: entry.value });
    });
    this.open = this.items.length > 0;
    list.hidden = !this.open;
    this.input.setAttribute("aria-expanded", this.open ? "true" : "false");
    this.move(this.open ? 0 : -1);
  };

  Listbox.prototype.move = function (index) {
    if (this.active >= 0 && this.items[this.active]) {
      this.items[this.active].element.setAttribute("aria-selected", "false");
    }
    this.active = index;
    if (index >= 0 && this.items[index]) {
      var element = this.items[index].element;
      element.setAttribute("aria-selected", "true");
      element.scrollIntoView({ block: "nearest" });
      this.input.setAttribute("aria-activedescendant", element.id);
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  };

  Listbox.prototype.close = function () {
    this.open = false;
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  };

  Listbox.prototype.take = function (index) {
    var item = this.items[index];
    if (!item) {
      return;
    }
    this.close();
    this.onTake(item.value);
  };

  // Returns true when the key was handled by the list.
  Listbox.prototype.key = function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!this.open) {
        return false;
      }
      var step = event.key === "ArrowDown" ? 1 : -1;
      var count = this.items.length;
      this.move((this.active + step + count) % count);
      return true;
    }
    if (event.key === "Enter" && !event.ctrlKey && !event.metaKey && this.open) {
      this.take(this.active < 0 ? 0 : this.active);
      return true;
    }
    if (event.key === "Escape" && this.open) {
      this.close();
      return true;
    }
    return false;
  };

  function setUpAddress() {
    var list = document.getElementById("address-suggestions");
    var pending = null;
    var asked = "";
    var box = new Listbox(addressInput, list, function (candidate) {
      addressInput.value = candidate.label;
      choosePoint(candidate.lon, candidate.lat, candidate.label, candidate.grid_code);
    });

    function detail(candidate) {
      var parts = [text[candidate.kind] || candidate.kind];
      if (candidate.grid_code) {
        parts.push(text.grid + " " + candidate.grid_code);
      }
      if (candidate.interpolated) {
        parts.push(text.interpolated);
      }
      return parts.join(" · ");
    }

    var search = debounce(function () {
      var query = addressInput.value.trim();
      if (!query || query === asked || document.activeElement !== addressInput) {
        return;
      }
      asked = query;
      if (pending) {
        pending.abort();
      }
      pending = new AbortController();
      pointNote.textContent = text.searching;
      var params = new URLSearchParams({ q: query, limit: String(config.limit) });
      fetch(config.search_url + "?" + params.toString(), {
        headers: { Accept: "application/json" },
        signal: pending.signal,
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (answer) {
          if (addressInput.value.trim() !== query) {
            return;
          }
          if (document.activeElement !== addressInput) {
            pointNote.textContent = restingNote;
            return;
          }
          box.show(
            answer.candidates.map(function (candidate) {
              return { label: candidate.label, detail: detail(candidate), value: candidate };
            }),
          );
          pointNote.textContent = answer.candidates.length
            ? say(text.suggestions, { count: answer.candidates.length })
            : text.no_match;
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            pointNote.textContent = text.search_failed;
          }
        });
    }, SEARCH_DELAY_MS);

    addressInput.addEventListener("input", function () {
      // Adding to the chosen address ("… 对面") keeps its point; another address drops it.
      if (chosenLabel && addressInput.value.indexOf(chosenLabel) !== 0) {
        clearPoint();
      }
      asked = "";
      search();
    });
    addressInput.addEventListener("blur", function () {
      if (pending) {
        pending.abort();
      }
      asked = "";
      pointNote.textContent = restingNote;
    });
    addressInput.addEventListener("keydown", function (event) {
      if (box.key(event)) {
        event.preventDefault();
      } else if (event.key === "ArrowDown" && !box.open) {
        asked = "";
        search();
        event.preventDefault();
      }
    });
  }

  // --- the category picker ---------------------------------------------------------------------

  function setUpCategory() {
    var select = document.getElementById("category");
    if (!select) {
      return;
    }
    var options = [];
    select.querySelectorAll("optgroup").forEach(function (group) {
      group.querySelectorAll("option").forEach(function (option) {
        options.push({
          value: option.value,
          label: option.textContent,
          group: group.label,
          haystack: (option.textContent + " " + group.label).toLowerCase(),
        });
      });
    });
    var input = document.createElement("input");
    input.type = "text";
    input.id = "category-input";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", "category-options");
    if (select.getAttribute("aria-invalid")) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "category-error");
    }
    var list = document.createElement("ul");
    list.id = "category-options";
    list.className = "hotline-listbox";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var label = document.querySelector("label[for=category]");
    if (label) {
      label.htmlFor = input.id;
      list.setAttribute("aria-label", label.textContent);
    }
    select.hidden = true;
    select.tabIndex = -1;
    select.parentNode.insertBefore(input, select);
    select.parentNode.insertBefore(list, select);
    var picked = select.selectedOptions[0];
    input.value = picked && picked.value ? picked.textContent : "";

    var box = new Listbox(input, list, function (option) {
      select.value = option.value;
      input.value = option.label;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });

    function filter() {
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var entries = [];
      var group = null;
      options.forEach(function (option) {
        var fits = terms.every(function (term) {
          return option.haystack.indexOf(term) !== -1;
        });
        if (!fits) {
          return;
        }
        if (option.group !== group) {
          group = option.group;
          entries.push({ group: group });
        }
        entries.push({ label: option.label, value: option });
      });
      box.show(entries);
      if (!box.open) {
        list.hidden = false;
        list.textContent = "";
        var none = document.createElement("li");
        none.setAttribute("role", "presentation");
        none.className = "hotline-empty";
        none.textContent = text.no_category;
        list.appendChild(none);
      }
    }

    input.addEventListener("input", function () {
      select.value = "";
      filter();
    });
    input.addEventListener("focus", function () {
      input.select();
    });
    input.addEventListener("keydown", function (event) {
      if (box.key(event)) {
        event.preventDefault();
      } else if (event.key === "ArrowDown" && !box.open) {
        filter();
        event.preventDefault();
      }
    });
  }

  // --- the caller ------------------------------------------------------------------------------

  function setUpCaller() {
    var phone = document.getElementById("reporter_phone");
    var panel = document.getElementById("caller-history");
    var shown = phone.value.replace(/[\s\-.()（）]/g, "");
    var pending = null;

    function lookUp() {
      var number = phone.value.replace(/[\s\-.()（）]/g, "");
      if (number === shown || !PHONE.test(number)) {
        return;
      }
      shown = number;
      if (pending) {
        pending.abort();
      }
      pending = new AbortController();
      fetch(config.caller_url + "?" + new URLSearchParams({ phone: number }).toString(), {
        headers: { Accept: "text/html" },
        signal: pending.signal,
      })
        .then(function (response) {
          if (!response.ok || response.redirected) {
            throw new Error(String(response.status));
          }
          return response.text();
        })
        .then(function (html) {
          panel.innerHTML = html;
          panel.setAttribute("data-phone", number);
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            shown = "";
            panel.textContent = text.caller_failed;
          }
        });
    }

    phone.addEventListener("input", debounce(lookUp, CALLER_DELAY_MS));
    phone.addEventListener("change", lookUp);
    phone.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
        lookUp();
      }
    });
  }

  // --- keys of the whole form --------------------------------------------------------------------

  function setUpKeys() {
    form.addEventListener("keydown", function (event) {
      var target = event.target;
      // Enter in a one-line field does not send the form half filled; Ctrl+Enter does, anywhere.
      if (event.key === "Enter" && !event.ctrlKey && !event.metaKey && target.tagName === "INPUT") {
        event.preventDefault();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (form.requestSubmit) {
          form.requestSubmit();
        } else {
          form.submit();
        }
      }
    });
  }

  function focusFirstRefusal() {
    // After a refused call the first field to correct has the focus.
    var invalid = form.querySelector("[aria-invalid=true]:not([hidden])");
    if (invalid) {
      invalid.focus();
    }
  }

  function setUp() {
    setUpAddress();
    setUpCategory();
    setUpCaller();
    setUpKeys();
    setUpMap();
    focusFirstRefusal();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
