// Wenming evaluation checklist: a chosen photo goes straight to the attachments API
// (POST /api/v1/attachments) and only its key is posted with the verdict, so a refused verdict
// never sends the photo twice. Without this script the photo travels with the form and is
// stored by the same attachments service.
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');

  function setBusy(form, busy) {
    var buttons = form.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].disabled = busy;
    }
  }

  function upload(event) {
    var input = event.target;
    var form = input.form;
    var keyField = form && form.querySelector('input[name="attachment_key"]');
    var status = form && form.querySelector("[data-upload-status]");
    if (!keyField || !status || !input.files || !input.files.length || !meta) {
      return;
    }
    var body = new FormData();
    body.append("file", input.files[0]);
    status.textContent = status.getAttribute("data-uploading");
    setBusy(form, true);
    fetch("/api/v1/attachments", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": meta.getAttribute("content") },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("upload refused: " + response.status);
        }
        return response.json();
      })
      .then(function (stored) {
        keyField.value = stored.key;
        input.value = "";
        status.textContent = status.getAttribute("data-uploaded");
      })
      .catch(function () {
        keyField.value = "";
        status.textContent = status.getAttribute("data-failed");
      })
      .then(function () {
        setBusy(form, false);
      });
  }

  var inputs = document.querySelectorAll("input[type=file][data-attachment]");
  for (var i = 0; i < inputs.length; i += 1) {
    inputs[i].addEventListener("change", upload);
  }
})();
