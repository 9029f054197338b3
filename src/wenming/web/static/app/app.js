// The phone app's shared code: words, API calls with the CSRF token, the codes this device keeps,
// the offline outbox (IndexedDB) that sends queued reports exactly once when the network returns,
// maps, and the service worker.
(function () {
  "use strict";

  var WM = (window.WM = {});
  var configNode = document.getElementById("app-config");
  WM.config = configNode ? JSON.parse(configNode.textContent) : { text: {} };

  // A message of the page's language with %(name)s placeholders filled in.
  WM.t = function (key, values) {
    var text = WM.config.text[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("%(" + name + ")s").join(String(values[name]));
    });
    return text;
  };

  WM.el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") {
        node.textContent = attrs[name];
      } else {
        node.setAttribute(name, attrs[name]);
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function refreshToken() {
    return fetch("/m/csrf", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.json();
      })
      .then(function (body) {
        var meta = document.querySelector('meta[name="csrf-token"]');
        if (meta) {
          meta.setAttribute("content", body.token);
        }
      });
  }

  // A JSON (or form) request; resolves to {ok, status, data}; rejects only on a network failure.
  WM.api = function (path, options, retried) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    var body = options.body;
    if (body && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    var method = options.method || (body ? "POST" : "GET");
    if (method !== "GET") {
      headers["X-CSRF-Token"] = csrfToken();
    }
    return fetch(path, {
      method: method,
      headers: headers,
      body: body,
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          var csrfFailed = response.status === 403 && /csrf/.test(String(data.type || ""));
          if (csrfFailed && !retried) {
            return refreshToken().then(function () {
              return WM.api(path, options, true);
            });
          }
          return { ok: response.ok, status: response.status, data: data };
        });
    });
  };

  WM.problem = function (result) {
    var data = result.data || {};
    if (data.errors && data.errors.length) {
      return data.errors
        .map(function (error) {
          return error.message;
        })
        .join(" ");
    }
    return data.detail || data.title || String(result.status);
  };

  // --- the reports this device made: tracking code and the secret that proves it ------------
  var KEPT = "wm.reports";
  WM.kept = {
    all: function () {
      try {
        return JSON.parse(localStorage.getItem(KEPT) || "[]");
      } catch (error) {
        return [];
      }
    },
    add: function (code, secret) {
      var items = WM.kept.all().filter(function (item) {
        return item.code !== code;
      });
      items.unshift({ code: code, secret: secret || null, at: new Date().toISOString() });
      localStorage.setItem(KEPT, JSON.stringify(items.slice(0, 100)));
    },
    secretOf: function (code) {
      var found = WM.kept.all().filter(function (item) {
        return item.code === code;
      })[0];
      return found ? found.secret : null;
    },
  };

  function randomBytes(count) {
    var bytes = new Uint8Array(count);
    crypto.getRandomValues(bytes);
    return bytes;
  }

  // 192 random bits as base64url: the secret a report's reporter keeps.
  WM.newSecret = function () {
    var text = "";
    randomBytes(24).forEach(function (b) {
      text += String.fromCharCode(b);
    });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  WM.newKey = function () {
    if (crypto.randomUUID) {
      return crypto.randomUUID();
    }
    return Array.prototype.map
      .call(randomBytes(16), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  };

  // --- the outbox: reports waiting for the network -------------------------------------------
  var DB_NAME = "wenming-app";
  var STORE = "outbox";

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "id" });
      };
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        reject(request.error);
      };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () {
          db.close();
          resolve(result && "result" in result ? result.result : undefined);
        };
        tx.onerror = function () {
          db.close();
          reject(tx.error);
        };
      });
    });
  }

  WM.outbox = {
    put: function (item) {
      return withStore("readwrite", function (store) {
        store.put(item);
      });
    },
    all: function () {
      return withStore("readonly", function (store) {
        return store.getAll();
      }).then(function (items) {
        return (items || []).sort(function (a, b) {
          return a.created < b.created ? -1 : 1;
        });
      });
    },
    get: function (id) {
      return withStore("readonly", function (store) {
        return store.get(id);
      });
    },
    remove: function (id) {
      return withStore("readwrite", function (store) {
        store.delete(id);
      });
    },
  };

  WM.upload = function (blob, name) {
    var form = new FormData();
    form.append("file", blob, name || "photo.jpg");
    return WM.api("/api/v1/attachments", { method: "POST", body: form });
  };

  var receipts = {};

  // Send one queued report: its photos first (keys remembered, so a retry uploads none twice),
  // then the report with its own Idempotency-Key, so that however often this runs, the server
  // creates one case. The item is read afresh: another run may have sent it already.
  function deliver(id) {
    return WM.outbox.get(id).then(function (item) {
      if (!item) {
        return receipts[id] || null;
      }
      return send(item);
    });
  }

  function send(item) {
    var chain = Promise.resolve();
    item.photos.forEach(function (photo) {
      chain = chain.then(function () {
        if (photo.key) {
          return;
        }
        return WM.upload(photo.blob, photo.name).then(function (result) {
          if (!result.ok) {
            throw { permanent: true, message: WM.problem(result) };
          }
          photo.key = result.data.key;
          return WM.outbox.put(item);
        });
      });
    });
    return chain.then(function () {
      var body = Object.assign({}, item.body, {
        attachments: item.photos.map(function (photo) {
          return photo.key;
        }),
        reporter_secret: item.secret,
      });
      return WM.api("/api/v1/app/reports", {
        method: "POST",
        body: body,
        headers: { "Idempotency-Key": item.id },
      }).then(function (result) {
        if (result.ok) {
          WM.kept.add(result.data.code, item.secret);
          receipts[item.id] = result.data;
          return WM.outbox.remove(item.id).then(function () {
            return result.data;
          });
        }
        if (result.status >= 400 && result.status < 500 && result.status !== 429) {
          throw { permanent: true, message: WM.problem(result) };
        }
        throw { permanent: false, message: WM.problem(result) };
      });
    });
  }

  // Send a report now, or keep it in the outbox when there is no network. Resolves to
  // {code} when delivered, {queued: true} when kept for later.
  WM.submit = function (item) {
    return WM.outbox.put(item).then(function () {
      if (!navigator.onLine) {
        return { queued: true };
      }
      return runExclusive(function () {
        return deliver(item.id);
      }).then(
        function (receipt) {
          return receipt;
        },
        function (error) {
          if (error && error.permanent) {
            return WM.outbox.remove(item.id).then(function () {
              throw error;
            });
          }
          return { queued: true };
        }
      );
    });
  };

  var running = Promise.resolve();
  // One delivery at a time in this page, and one per device when the browser offers locks.
  function runExclusive(work) {
    var next = running.then(function () {
      if (navigator.locks && navigator.locks.request) {
        return navigator.locks.request("wenming-outbox", work);
      }
      return work();
    });
    running = next.catch(function () {});
    return next;
  }

  WM.flush = function () {
    if (!navigator.onLine) {
      return Promise.resolve(0);
    }
    return runExclusive(function () {
      return WM.outbox.all().then(function (items) {
        var sent = 0;
        var chain = Promise.resolve();
        items.forEach(function (item) {
          chain = chain.then(function () {
            if (item.failed) {
              return;
            }
            return deliver(item.id).then(
              function (receipt) {
                sent += 1;
                document.dispatchEvent(new CustomEvent("wm:delivered", { detail: receipt }));
              },
              function (error) {
                if (error && error.permanent) {
                  return WM.outbox.get(item.id).then(function (fresh) {
                    if (fresh) {
                      fresh.failed = error.message;
                      return WM.outbox.put(fresh);
                    }
                  });
                }
                throw error;
              }
            );
          });
        });
        return chain.then(
          function () {
            return sent;
          },
          function () {
            return sent;
          }
        );
      });
    }).then(function (sent) {
      showNetwork();
      return sent;
    });
  };

  function showNetwork() {
    var line = document.getElementById("net-status");
    if (!line || !window.indexedDB) {
      return;
    }
    WM.outbox.all().then(function (items) {
      var waiting = items.filter(function (item) {
        return !item.failed;
      }).length;
      var parts = [];
      if (!navigator.onLine) {
        parts.push(WM.t("offline"));
      }
      if (waiting) {
        parts.push(WM.t("queued_count", { count: waiting }));
      }
      if (delivered.length) {
        parts.push(WM.t("delivered", { code: delivered.join(", ") }));
      }
      line.textContent = parts.join(" ");
      line.hidden = parts.length === 0;
      line.setAttribute("data-waiting", String(waiting));
    });
  }
  WM.showNetwork = showNetwork;

  // The codes of queued reports this page has delivered, announced until the page changes.
  var delivered = [];
  document.addEventListener("wm:delivered", function (event) {
    if (event.detail && event.detail.code) {
      delivered.push(event.detail.code);
    }
    showNetwork();
  });

  window.addEventListener("online", function () {
    WM.flush();
  });
  window.addEventListener("offline", showNetwork);

  // --- maps --------------------------------------------------------------------------------
  WM.toGcj02 = window.WenmingGcj02.fromWgs84;

  // A point given in WGS-84 as the map draws it.
  WM.forDisplay = function (crs, lon, lat) {
    return crs === "gcj02" ? WM.toGcj02(lon, lat) : [lon, lat];
  };

  WM.map = function (node) {
    if (!window.L || !node) {
      return null;
    }
    var map = L.map(node, { zoomControl: true, attributionControl: false });
    var tiles = node.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, {
        subdomains: node.getAttribute("data-tile-subdomains") || "abc",
        maxZoom: 18,
      }).addTo(map);
    }
    var extent = JSON.parse(node.getAttribute("data-extent") || "null");
    if (extent) {
      map.fitBounds(extent);
    } else {
      map.setView([35.0, 105.0], 4);
    }
    return map;
  };

  // --- the service worker: the app shell offline --------------------------------------------
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).catch(function () {});
  }

  document.addEventListener("DOMContentLoaded", function () {
    showNetwork();
    if (window.indexedDB) {
      WM.flush();
    }
  });
})();
