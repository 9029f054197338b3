// The report form: photos (uploaded at once when online, for their EXIF position), the place
// from the device or a tap on the map, the category picker with search, likely duplicates with
// "me too", and the submit that goes through the outbox (sent now, or kept until online).
(function () {
  "use strict";

  var WM = window.WM;
  var MAX_PHOTOS = 9;
  var form = document.getElementById("report-form");
  if (!form || !WM) {
    return;
  }
  var photos = [];
  var point = null;
  var marker = null;
  var mapNode = document.getElementById("report-map");
  var mapCrs = mapNode.getAttribute("data-crs") || "wgs84";
  var map = WM.map(mapNode);
  var placeStatus = document.getElementById("place-status");
  var formError = document.getElementById("form-error");
  var photoList = document.getElementById("photo-list");

  function showError(message) {
    formError.textContent = message;
    formError.hidden = !message;
  }

  // --- photos --------------------------------------------------------------------------------
  function renderPhotos() {
    photoList.textContent = "";
    photos.forEach(function (photo, index) {
      var img = WM.el("img", { src: photo.preview, alt: "", width: "96", height: "72" });
      var remove = WM.el("button", {
        type: "button",
        class: "btn btn-secondary photo-remove",
        text: WM.t("remove_photo"),
      });
      remove.addEventListener("click", function () {
        photos.splice(index, 1);
        renderPhotos();
      });
      var state = WM.el("span", {
        class: "photo-state",
        text: photo.key ? "✓" : photo.uploading ? WM.t("uploading") : "",
      });
      photoList.appendChild(
        WM.el("li", { class: "photo-item", "data-uploaded": photo.key ? "true" : "false" }, [
          img,
          state,
          remove,
        ])
      );
    });
  }

  function preview(file) {
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onload = function () {
        resolve(reader.result);
      };
      reader.onerror = function () {
        resolve("");
      };
      reader.readAsDataURL(file);
    });
  }

  function addPhoto(file) {
    if (photos.length >= MAX_PHOTOS) {
      return Promise.resolve();
    }
    var photo = { blob: file, name: file.name || "photo.jpg", key: null, uploading: false };
    photos.push(photo);
    return preview(file).then(function (url) {
      photo.preview = url;
      if (!navigator.onLine) {
        renderPhotos();
        return;
      }
      photo.uploading = true;
      renderPhotos();
      return WM.upload(file, photo.name).then(
        function (result) {
          photo.uploading = false;
          if (!result.ok) {
            photos.splice(photos.indexOf(photo), 1);
            showError(WM.t("upload_failed", { reason: WM.problem(result) }));
          } else {
            photo.key = result.data.key;
            var hint = result.data.gps_hint;
            if (hint && !point) {
              setPoint({ lon: hint.lon, lat: hint.lat, crs: "wgs84" }, WM.t("photo_gps"));
            }
          }
          renderPhotos();
        },
        function () {
          // No network after all: the outbox uploads it later.
          photo.uploading = false;
          renderPhotos();
        }
      );
    });
  }

  form.querySelectorAll("[data-photo-input]").forEach(function (input) {
    input.addEventListener("change", function () {
      showError("");
      var files = Array.prototype.slice.call(input.files || []);
      var chain = Promise.resolve();
      files.forEach(function (file) {
        chain = chain.then(function () {
          return addPhoto(file);
        });
      });
      chain.then(function () {
        input.value = "";
      });
    });
  });

  // --- the place -----------------------------------------------------------------------------
  function setPoint(value, message) {
    point = value;
    var shown =
      value.crs === mapCrs ? [value.lon, value.lat] : WM.forDisplay(mapCrs, value.lon, value.lat);
    if (map) {
      var latlng = [shown[1], shown[0]];
      if (marker) {
        marker.setLatLng(latlng);
      } else {
        marker = L.circleMarker(latlng, {
          radius: 10,
          color: "#8f1a17",
          weight: 3,
          fillColor: "#b8231f",
          fillOpacity: 0.8,
        }).addTo(map);
      }
      map.setView(latlng, Math.max(map.getZoom(), 17));
    }
    placeStatus.textContent = message;
    mapNode.setAttribute("data-point", value.lon.toFixed(7) + "," + value.lat.toFixed(7));
    lookForDuplicates();
  }

  if (map) {
    map.on("click", function (event) {
      setPoint({ lon: event.latlng.lng, lat: event.latlng.lat, crs: mapCrs }, WM.t("tapped"));
    });
  }

  document.getElementById("locate-me").addEventListener("click", function () {
    if (!navigator.geolocation) {
      placeStatus.textContent = WM.t("locate_failed");
      return;
    }
    placeStatus.textContent = WM.t("locating");
    navigator.geolocation.getCurrentPosition(
      function (position) {
        // The Geolocation API answers in WGS-84.
        setPoint(
          { lon: position.coords.longitude, lat: position.coords.latitude, crs: "wgs84" },
          WM.t("located", { metres: Math.round(position.coords.accuracy || 0) })
        );
      },
      function () {
        placeStatus.textContent = WM.t("locate_failed");
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });

  // --- the category picker -------------------------------------------------------------------
  var search = document.getElementById("category-search");
  search.addEventListener("input", function () {
    var query = search.value.trim().toLowerCase();
    var any = false;
    form.querySelectorAll(".category-group").forEach(function (group) {
      var shown = 0;
      group.querySelectorAll(".category-option").forEach(function (option) {
        var match = !query || option.getAttribute("data-search").toLowerCase().indexOf(query) >= 0;
        option.hidden = !match;
        shown += match ? 1 : 0;
      });
      group.hidden = shown === 0;
      any = any || shown > 0;
    });
    document.getElementById("category-none").hidden = any;
  });

  function chosenCategory() {
    var checked = form.querySelector('input[name="category"]:checked');
    if (!checked) {
      return null;
    }
    var parts = checked.value.split(":");
    return { kind: parts[0], code: parts[1] };
  }

  form.querySelectorAll('input[name="category"]').forEach(function (input) {
    input.addEventListener("change", lookForDuplicates);
  });

  // --- likely duplicates and "me too" ------------------------------------------------------
  var dupSection = document.getElementById("duplicates");
  var dupList = document.getElementById("dup-list");

  function lookForDuplicates() {
    var category = chosenCategory();
    if (!category || !point || !navigator.onLine) {
      dupSection.hidden = true;
      return;
    }
    var query = new URLSearchParams({
      kind: category.kind,
      code: category.code,
      lon: String(point.lon),
      lat: String(point.lat),
      crs: point.crs,
    });
    WM.api("/api/v1/app/nearby?" + query.toString()).then(
      function (result) {
        dupList.textContent = "";
        if (!result.ok || !result.data.length) {
          dupSection.hidden = true;
          return;
        }
        result.data.forEach(function (item) {
          var button = WM.el("button", {
            type: "button",
            class: "btn btn-primary",
            "data-testid": "me-too",
            text: WM.t("me_too"),
          });
          var line = WM.el("li", { class: "dup-item" }, [
            WM.el("strong", { text: item.description || item.code }),
            WM.el("span", {
              class: "report-meta",
              text:
                (WM.config.states[item.state] || item.state) +
                " · " +
                WM.t("distance", { metres: item.distance_m }) +
                " · " +
                WM.t("supporters", { count: item.supporters }),
            }),
            button,
          ]);
          button.addEventListener("click", function () {
            button.disabled = true;
            WM.api("/api/v1/cases/" + item.code + "/support", { method: "POST", body: {} }).then(
              function (answer) {
                if (answer.ok) {
                  WM.kept.add(item.code, null);
                  line.replaceChildren(
                    WM.el("p", {
                      "data-testid": "me-too-done",
                      text: WM.t("me_too_done", { code: item.code }),
                    })
                  );
                } else {
                  button.disabled = false;
                  showError(WM.problem(answer));
                }
              },
              function () {
                button.disabled = false;
                showError(WM.t("offline"));
              }
            );
          });
          dupList.appendChild(line);
        });
        dupSection.hidden = false;
      },
      function () {
        dupSection.hidden = true;
      }
    );
  }

  // --- sending ----------------------------------------------------------------------------------
  function value(id) {
    return document.getElementById(id).value.trim();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    var category = chosenCategory();
    var description = value("description");
    if (!point) {
      return showError(WM.t("need_location"));
    }
    if (!category) {
      return showError(WM.t("need_category"));
    }
    if (!description) {
      return showError(WM.t("need_description"));
    }
    if (!document.getElementById("consent").checked) {
      return showError(WM.t("need_consent"));
    }
    var body = {
      category_kind: category.kind,
      category_code: category.code,
      description: description,
      lon: point.lon,
      lat: point.lat,
      crs: point.crs,
      address: value("address"),
      anonymous: document.getElementById("anonymous").checked,
    };
    if (form.getAttribute("data-source")) {
      body.source = form.getAttribute("data-source");
    }
    if (value("reporter-name")) {
      body.reporter_name = value("reporter-name");
    }
    if (value("reporter-phone")) {
      body.reporter_phone = value("reporter-phone").replace(/[\s-]/g, "");
    }
    var item = {
      id: WM.newKey(),
      created: new Date().toISOString(),
      body: body,
      secret: WM.newSecret(),
      photos: photos.map(function (photo) {
        return { blob: photo.blob, name: photo.name, key: photo.key };
      }),
    };
    var send = document.getElementById("send-report");
    send.disabled = true;
    send.textContent = WM.t("sending");
    WM.submit(item).then(
      function (outcome) {
        form.hidden = true;
        if (outcome && outcome.code) {
          document.getElementById("receipt-code").textContent = outcome.code;
          document.getElementById("receipt").hidden = false;
          document.getElementById("receipt").focus();
        } else {
          document.getElementById("queued").hidden = false;
          document.getElementById("queued").focus();
          WM.showNetwork();
        }
      },
      function (error) {
        send.disabled = false;
        send.textContent = send.getAttribute("data-label");
        showError(WM.t("send_failed", { reason: (error && error.message) || String(error) }));
      }
    );
  });
  document.getElementById("send-report").setAttribute(
    "data-label",
    document.getElementById("send-report").textContent
  );
})();
