// The grid worker's desk: my grids on the map, a patrol whose GPS track is recorded while the
// page is open (sent in batches), and the on-site checks (核查) of handled cases.
(function () {
  "use strict";

  var WM = window.WM;
  var node = document.getElementById("worker-map");
  if (!node || !WM) {
    return;
  }
  var words = JSON.parse(document.getElementById("worker-config").textContent);
  var crs = node.getAttribute("data-crs") || "wgs84";
  var map = WM.map(node);
  var trackLine = map ? L.polyline([], { color: "#b8231f", weight: 4 }).addTo(map) : null;

  WM.api("/api/v1/app/worker/grids?crs=" + crs).then(function (result) {
    if (!result.ok || !map || !result.data.features.length) {
      return;
    }
    var layer = L.geoJSON(result.data, {
      style: { color: "#0f2c4c", weight: 2, fillOpacity: 0.08 },
    }).addTo(map);
    map.fitBounds(layer.getBounds(), { padding: [12, 12] });
    node.setAttribute("data-grids", String(result.data.features.length));
  });

  // --- the patrol --------------------------------------------------------------------------
  var patrol = null;
  var pending = [];
  var watch = null;
  var timer = null;
  var status = document.getElementById("patrol-status");
  var startButton = document.getElementById("patrol-start");
  var stopButton = document.getElementById("patrol-stop");

  function show(current) {
    patrol = current;
    var running = Boolean(current && !current.ended_at);
    startButton.hidden = running;
    stopButton.hidden = !running;
    if (current) {
      document.getElementById("patrol-distance").textContent =
        Math.round(current.distance_m) + " m";
      document.getElementById("patrol-duration").textContent =
        Math.round(current.duration_s / 60) + " min";
    }
    status.textContent = running
      ? words.running.replace("%(time)s", new Date(current.started_at).toLocaleTimeString())
      : words.idle;
    node.setAttribute("data-patrol", running ? "running" : "idle");
  }

  function send() {
    if (!patrol || !pending.length || !navigator.onLine) {
      return Promise.resolve();
    }
    var batch = pending.splice(0, pending.length);
    return WM.api("/api/v1/app/patrols/" + patrol.id + "/points", {
      method: "POST",
      body: { points: batch },
    }).then(
      function (result) {
        if (result.ok) {
          show(result.data);
        } else {
          pending = batch.concat(pending);
        }
      },
      function () {
        pending = batch.concat(pending);
      }
    );
  }

  function record() {
    if (!navigator.geolocation) {
      status.textContent = words.no_gps;
      return;
    }
    watch = navigator.geolocation.watchPosition(
      function (position) {
        var fix = {
          lon: position.coords.longitude,
          lat: position.coords.latitude,
          at: new Date(position.timestamp || Date.now()).toISOString(),
          accuracy_m: position.coords.accuracy || null,
        };
        pending.push(fix);
        if (trackLine) {
          var shown = WM.forDisplay(crs, fix.lon, fix.lat);
          trackLine.addLatLng([shown[1], shown[0]]);
        }
        if (pending.length >= 5) {
          send();
        }
      },
      function () {
        status.textContent = words.no_gps;
      },
      { enableHighAccuracy: true, maximumAge: 5000 }
    );
    timer = window.setInterval(send, 15000);
  }

  function quiet() {
    if (watch !== null) {
      navigator.geolocation.clearWatch(watch);
      watch = null;
    }
    if (timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
  }

  startButton.addEventListener("click", function () {
    startButton.disabled = true;
    WM.api("/api/v1/app/patrols", { method: "POST", body: {} }).then(function (result) {
      startButton.disabled = false;
      if (result.ok) {
        show(result.data);
        record();
      } else {
        status.textContent = WM.problem(result);
      }
    });
  });

  stopButton.addEventListener("click", function () {
    stopButton.disabled = true;
    quiet();
    send().then(function () {
      return WM.api("/api/v1/app/patrols/" + patrol.id + "/stop", { method: "POST", body: {} });
    }).then(function (result) {
      stopButton.disabled = false;
      if (result.ok) {
        show(result.data);
        status.textContent = words.idle;
      } else {
        status.textContent = WM.problem(result);
      }
    });
  });

  WM.api("/api/v1/app/patrols/current").then(function (result) {
    if (result.ok && result.data) {
      show(result.data);
      record();
    } else {
      show(null);
    }
  });

  // --- on-site checks ------------------------------------------------------------------------
  document.querySelectorAll(".task-form").forEach(function (form) {
    var first = form.querySelector("[data-verdict]");
    var verdict = first.getAttribute("data-verdict");
    var needsNote = false;
    var error = form.querySelector(".form-error");
    form.querySelectorAll("[data-verdict]").forEach(function (button) {
      button.addEventListener("click", function () {
        verdict = button.getAttribute("data-verdict");
        needsNote = button.getAttribute("data-needs-note") === "true";
      });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      var note = form.note.value.trim();
      if (needsNote && !note) {
        error.textContent = words.need_note;
        error.hidden = false;
        return;
      }
      var file = form.photo.files && form.photo.files[0];
      var upload = file ? WM.upload(file, file.name) : Promise.resolve(null);
      upload
        .then(function (result) {
          if (result && !result.ok) {
            throw new Error(WM.problem(result));
          }
          var body = {
            note: note,
            version: Number(form.getAttribute("data-version")),
            attachments: result ? [result.data.key] : [],
          };
          var code = form.getAttribute("data-code");
          return WM.api("/api/v1/cases/" + code + "/actions/" + verdict, {
            method: "POST",
            body: body,
          });
        })
        .then(function (result) {
          if (!result.ok) {
            throw new Error(WM.problem(result));
          }
          var done = WM.el("p", {
            class: "rated",
            "data-testid": "task-done",
            text: words[verdict],
          });
          form.replaceWith(done);
        })
        .catch(function (failure) {
          error.textContent = failure.message || String(failure);
          error.hidden = false;
        });
    });
  });
})();
