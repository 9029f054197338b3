// "My reports": the reports this device keeps (and the signed-in citizen's), each with its
// timeline; a closed one can be rated once or declared "still not fixed" within the window.
// Also the outbox of reports waiting for the network, and the citizen account form.
(function () {
  "use strict";

  var WM = window.WM;
  var list = document.getElementById("report-list");
  if (!list || !WM) {
    return;
  }
  var status = document.getElementById("mine-status");
  var english = document.documentElement.lang === "en";
  var uid = 0;

  function when(iso) {
    var date = new Date(iso);
    return date.toLocaleString(english ? "en" : "zh-CN", {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
  }

  function fieldId(prefix) {
    uid += 1;
    return prefix + "-" + uid;
  }

  function ratingForm(report, secret) {
    var form = WM.el("form", { class: "rate-form", "data-testid": "rate-form" });
    var fieldset = WM.el("fieldset", {}, [WM.el("legend", { text: WM.t("rate") })]);
    Object.keys(WM.config.ratings).forEach(function (value) {
      var input = WM.el("input", { type: "radio", name: "rating", value: value });
      fieldset.appendChild(
        WM.el("label", { class: "check" }, [input, " ", WM.el("span", { text: WM.config.ratings[value] })])
      );
    });
    var commentId = fieldId("comment");
    fieldset.appendChild(WM.el("label", { for: commentId, text: WM.t("comment") }));
    fieldset.appendChild(WM.el("textarea", { id: commentId, name: "comment", rows: "2", maxlength: "500" }));
    form.appendChild(fieldset);
    var error = WM.el("p", { class: "form-error", role: "alert", hidden: "" });
    form.appendChild(error);
    form.appendChild(
      WM.el("button", { type: "submit", class: "btn btn-primary btn-block", text: WM.t("send") })
    );
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = form.querySelector('input[name="rating"]:checked');
      if (!chosen) {
        error.textContent = WM.t("rate");
        error.hidden = false;
        return;
      }
      WM.api("/api/v1/app/reports/" + report.code + "/rating", {
        method: "POST",
        body: { secret: secret, rating: chosen.value, comment: form.comment.value.trim() },
      }).then(
        function (result) {
          if (result.ok) {
            load();
          } else {
            error.textContent = WM.problem(result);
            error.hidden = false;
          }
        },
        function () {
          error.textContent = WM.t("offline");
          error.hidden = false;
        }
      );
    });
    return form;
  }

  function notFixedForm(report, secret) {
    var form = WM.el("form", { class: "reopen-form", "data-testid": "not-fixed-form" });
    var noteId = fieldId("not-fixed");
    form.appendChild(
      WM.el("p", { class: "hint", text: WM.t("reopen_until", { date: when(report.reopen_until) }) })
    );
    form.appendChild(WM.el("label", { for: noteId, text: WM.t("not_fixed_reason") }));
    form.appendChild(
      WM.el("textarea", { id: noteId, name: "note", rows: "2", maxlength: "1000", required: "" })
    );
    var error = WM.el("p", { class: "form-error", role: "alert", hidden: "" });
    form.appendChild(error);
    form.appendChild(
      WM.el("button", { type: "submit", class: "btn btn-secondary btn-block", text: WM.t("not_fixed") })
    );
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var note = form.note.value.trim();
      if (!note) {
        error.textContent = WM.t("not_fixed_reason");
        error.hidden = false;
        return;
      }
      WM.api("/api/v1/app/reports/" + report.code + "/not-fixed", {
        method: "POST",
        body: { secret: secret, note: note },
      }).then(
        function (result) {
          if (result.ok) {
            load();
          } else {
            error.textContent = WM.problem(result);
            error.hidden = false;
          }
        },
        function () {
          error.textContent = WM.t("offline");
          error.hidden = false;
        }
      );
    });
    return form;
  }

  function card(report) {
    var secret = WM.kept.secretOf(report.code);
    var name = english ? report.category.name_en : report.category.name_zh;
    var timeline = WM.el(
      "ol",
      { class: "timeline" },
      report.timeline.map(function (step) {
        var parts = [
          WM.el("time", { datetime: step.at, text: when(step.at) }),
          " ",
          WM.el("span", { text: WM.config.events[step.action] || step.action }),
        ];
        if (step.note) {
          parts.push(WM.el("p", { text: step.note }));
        }
        return WM.el("li", {}, parts);
      })
    );
    var item = WM.el("li", { class: "report-card", "data-code": report.code, "data-state": report.state }, [
      WM.el("h2", { class: "report-title" }, [
        WM.el("span", { class: "cat-icon cat-" + report.category.icon, "aria-hidden": "true" }),
        name,
      ]),
      WM.el("p", {}, [
        WM.el("span", {
          class: "state state-" + report.state,
          "data-testid": "report-state",
          text: WM.config.states[report.state] || report.state,
        }),
      ]),
      WM.el("p", { class: "report-meta" }, [
        WM.t("tracking_code") + " ",
        WM.el("strong", { class: "code", text: report.code }),
        " · " + when(report.created_at),
      ]),
      WM.el("p", { class: "report-address", text: report.address }),
      timeline,
    ]);
    if (report.rating) {
      item.appendChild(
        WM.el("p", {
          class: "rated",
          "data-testid": "rating",
          text: WM.t("rated", { rating: WM.config.ratings[report.rating] || report.rating }),
        })
      );
    }
    if (report.has_contact) {
      var forget = WM.el("button", {
        type: "button",
        class: "btn btn-secondary btn-block",
        "data-testid": "forget-contact",
        text: WM.t("forget_contact"),
      });
      forget.addEventListener("click", function () {
        forget.disabled = true;
        WM.api("/api/v1/app/reports/" + report.code + "/forget-contact", {
          method: "POST",
          body: { secret: secret },
        }).then(
          function () {
            load();
          },
          function () {
            forget.disabled = false;
          }
        );
      });
      item.appendChild(forget);
    }
    if (report.can_rate) {
      item.appendChild(ratingForm(report, secret));
    }
    if (report.can_reopen) {
      item.appendChild(notFixedForm(report, secret));
    }
    return item;
  }

  function load() {
    status.textContent = WM.t("loading");
    var items = WM.kept.all().map(function (entry) {
      return entry.secret ? { code: entry.code, secret: entry.secret } : { code: entry.code };
    });
    return WM.api("/api/v1/app/mine", { method: "POST", body: { items: items } }).then(
      function (result) {
        list.textContent = "";
        if (!result.ok) {
          status.textContent = WM.t("error", { reason: WM.problem(result) });
          return;
        }
        result.data.forEach(function (report) {
          list.appendChild(card(report));
        });
        status.textContent = result.data.length ? "" : WM.t("no_reports");
      },
      function () {
        status.textContent = WM.t("offline");
      }
    );
  }

  function showOutbox() {
    var section = document.getElementById("outbox");
    var outList = document.getElementById("outbox-list");
    if (!window.indexedDB) {
      return;
    }
    WM.outbox.all().then(function (items) {
      outList.textContent = "";
      items.forEach(function (entry) {
        var line = WM.el("li", { class: "report-card" }, [
          WM.el("strong", { text: entry.body.description }),
          WM.el("p", { class: "report-meta", text: when(entry.created) }),
        ]);
        if (entry.failed) {
          line.appendChild(WM.el("p", { class: "form-error", text: entry.failed }));
          var remove = WM.el("button", {
            type: "button",
            class: "btn btn-secondary",
            text: WM.t("discard"),
          });
          remove.addEventListener("click", function () {
            WM.outbox.remove(entry.id).then(showOutbox);
          });
          line.appendChild(remove);
        } else {
          line.appendChild(WM.el("p", { class: "hint", text: WM.t("pending") }));
        }
        outList.appendChild(line);
      });
      section.hidden = items.length === 0;
    });
  }

  document.addEventListener("wm:delivered", function () {
    showOutbox();
    load();
  });

  var accountForm = document.getElementById("account-form");
  if (accountForm) {
    var which = "sign-in";
    accountForm.querySelectorAll("[data-account]").forEach(function (button) {
      button.addEventListener("click", function () {
        which = button.getAttribute("data-account");
      });
    });
    accountForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById("account-error");
      var path = which === "register" ? "/api/v1/app/citizens" : "/api/v1/app/session";
      WM.api(path, {
        method: "POST",
        body: {
          phone: accountForm.phone.value.trim(),
          password: accountForm.password.value,
        },
      }).then(
        function (result) {
          if (result.ok) {
            window.location.reload();
          } else {
            error.textContent = WM.problem(result);
            error.hidden = false;
          }
        },
        function () {
          error.textContent = WM.t("offline");
          error.hidden = false;
        }
      );
    });
  }

  var signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", function () {
      WM.api("/api/v1/app/session", { method: "DELETE" }).then(function () {
        window.location.reload();
      });
    });
  }

  showOutbox();
  load();
})();
