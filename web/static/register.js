/* Small helpers of the field forms (each works without JavaScript too: the server does the same on a post):
   - a field the workflow shows only when another field has a value ([data-shown-when]: 一庭两所's court and judge
     once 人民法庭 is ticked) is hidden and disabled until then, so it is neither sent nor required (without
     JavaScript every field shows);
   - 登记纠纷: ＋添加当事人 and 删除该当事人 without a reload (a <template> row, rows renumbered), focus to
     the first field in error;
   - photos (input[data-resize]): several at a time, from the camera or the gallery; a photo larger than
     MAX_SIDE pixels is scaled down on the phone (canvas, JPEG) before it is uploaded. */
(function () {
  "use strict";
  var NUMBERED = /^(parties\.|p|e-parties-)(\d+|__i__)([.-])/;
  var MAX_SIDE = 1600;
  var QUALITY = 0.85;

  function renumber(row, index) {
    row.setAttribute("data-party", String(index));
    row.querySelectorAll("*").forEach(function (node) {
      ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
        var value = node.getAttribute(attr);
        if (value && NUMBERED.test(value)) { node.setAttribute(attr, value.replace(NUMBERED, "$1" + index + "$3")); }
      });
      if (node.hasAttribute("data-remove-party")) { node.value = String(index); }
      if (node.hasAttribute("data-party-title")) { node.textContent = "第" + (index + 1) + "位当事人 · 身份"; }
    });
  }

  function rows(form) { return form.querySelectorAll("[data-party]:not(template [data-party])"); }

  function changed(form) { form.dispatchEvent(new Event("change", { bubbles: true })); }

  function addParty(form, template, button) {
    if (rows(form).length >= 20) { return; }
    var row = template.content.firstElementChild.cloneNode(true);
    button.parentNode.insertBefore(row, template);
    renumber(row, rows(form).length - 1);
    var name = row.querySelector("input[type=text]");
    if (name) { name.focus(); }
    changed(form);
  }

  function removeParty(form, row) {
    var all = rows(form);
    if (all.length <= 1) { return; }
    var next = row.nextElementSibling;
    row.parentNode.removeChild(row);
    rows(form).forEach(function (r, i) { renumber(r, i); });
    var focus = next && next.matches && next.matches("[data-party]") ? next : rows(form)[rows(form).length - 1];
    var field = focus && focus.querySelector("select, input");
    if (field) { field.focus(); }
    changed(form);
  }

  function partyRows(form) {
    var template = form.querySelector("#party-template");
    if (!template || form.dataset.rowsReady) { return; }
    form.dataset.rowsReady = "1";
    form.addEventListener("click", function (evt) {
      var add = evt.target.closest("[data-add-party]");
      var remove = evt.target.closest("[data-remove-party]");
      if (add) { evt.preventDefault(); addParty(form, template, add); }
      if (remove) { evt.preventDefault(); removeParty(form, remove.closest("[data-party]")); }
    });
  }

  function focusFirstError(root) {
    var bad = root.querySelector("[aria-invalid='true']");
    if (bad) { bad.focus(); bad.scrollIntoView({ block: "center" }); }
  }

  /* A large photo scaled down; a photo the server does not take (WebP from a chat app) made a JPEG. */
  function shrink(file) {
    if (!/^image\//.test(file.type) || !window.createImageBitmap) { return Promise.resolve(file); }
    var kept = /^image\/(jpeg|png)$/.test(file.type);
    return createImageBitmap(file).then(function (image) {
      var scale = Math.min(1, MAX_SIDE / Math.max(image.width, image.height));
      if (scale === 1 && kept) { return file; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(image.width * scale);
      canvas.height = Math.round(image.height * scale);
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          var name = file.name.replace(/\.\w+$/, "") + ".jpg";
          resolve(blob ? new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified }) : file);
        }, "image/jpeg", QUALITY);
      });
    }, function () { return file; });
  }

  function photos(input) {
    if (input.dataset.resizeReady || !window.DataTransfer) { return; }
    input.dataset.resizeReady = "1";
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []);
      if (!files.length || input.dataset.resizing) { return; }
      input.dataset.resizing = "1";
      Promise.all(files.map(shrink)).then(function (smaller) {
        var list = new DataTransfer();
        smaller.forEach(function (f) { list.items.add(f); });
        input.files = list.files;
        delete input.dataset.resizing;
        var note = input.parentNode.querySelector("[data-resize-note]");
        if (note) { note.textContent = "已选" + smaller.length + "个文件"; }
      });
    });
  }

  /* Does the form hold ``value`` in its (enabled) field ``name``: a ticked box or a chosen option? */
  function holds(form, name, value) {
    return Array.prototype.some.call(form.elements, function (el) {
      if (el.name !== name || el.disabled) { return false; }
      if (el.type === "checkbox" || el.type === "radio") { return el.checked && el.value === value; }
      return el.value === value;
    });
  }

  function judgeShown(form) {
    form.querySelectorAll("[data-shown-when]").forEach(function (box) {  /* in order: a condition on a hidden one fails */
      var when = JSON.parse(box.getAttribute("data-shown-when"));
      var shown = box.classList.contains("has-error") || Object.keys(when).every(function (name) {
        return holds(form, name, when[name]);
      });
      box.classList.toggle("shown", shown);
      box.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !shown; });
    });
  }

  function shownWhen(form) {
    if (!form || form.dataset.shownReady) { return; }
    form.dataset.shownReady = "1";
    form.addEventListener("change", function () { judgeShown(form); });
    form.addEventListener("reset", function () { setTimeout(function () { judgeShown(form); }, 0); });
    judgeShown(form);
  }

  function init(root) {
    if (root.matches && root.matches("[data-shown-when]")) { shownWhen(root.closest("form")); }
    root.querySelectorAll("[data-shown-when]").forEach(function (box) { shownWhen(box.closest("form")); });
    root.querySelectorAll("form[data-outbox]").forEach(function (form) {
      partyRows(form);
      focusFirstError(form);
    });
    root.querySelectorAll("input[type=file][data-resize]").forEach(photos);
  }

  document.documentElement.classList.add("scripted");  /* app.css hides a [data-shown-when] field until judged */
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (evt) { init(evt.target); });
})();
