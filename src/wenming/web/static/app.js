// Wenming pages: small progressive enhancements; every page works without this script.
(function () {
  "use strict";

  function setUpTreeTools() {
    var tools = document.querySelector("[data-tree-tools]");
    var tree = document.querySelector("[data-tree]");
    if (!tools || !tree) {
      return;
    }
    tools.hidden = false;
    tools.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) {
        return;
      }
      // Show the tree down to a level: open every branch above it, close the others.
      var level = Number(button.getAttribute("data-tree-level") || "0");
      var action = button.getAttribute("data-tree-action");
      tree.querySelectorAll("details").forEach(function (node) {
        var nodeLevel = Number(node.parentElement.getAttribute("data-level"));
        if (action) {
          node.open = action === "open";
        } else {
          node.open = nodeLevel < level;
        }
      });
    });
  }

  function setUpCopyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var field = document.querySelector(button.getAttribute("data-copy"));
      if (!field || !navigator.clipboard) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          button.textContent = button.getAttribute("data-copied");
        });
      });
    });
    document.querySelectorAll("input[readonly].secret").forEach(function (field) {
      field.addEventListener("focus", function () {
        field.select();
      });
    });
  }

  function setUpConfirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpTreeTools();
    setUpCopyButtons();
    setUpConfirmations();
  });
})();
