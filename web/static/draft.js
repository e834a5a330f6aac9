/* Keeps what was typed into a form marked data-draft="KEY" in localStorage, so a dropped connection or a
   closed tab loses nothing. The draft is restored into empty fields on load and cleared when the server
   answers with an element carrying data-draft-clear="KEY" (the case was registered). KEY names the user
   (register.<user id>): a draft is never offered to another user of the same device. Fields marked
   data-draft-skip (ID numbers, phones) are never kept, and the login page (data-draft-clear-all: shown
   after signing out, or when the session ended) removes every draft. No inline script. */
(function () {
  "use strict";
  var PREFIX = "mediation_flow.draft.";

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf_token" && el.type !== "hidden" && el.type !== "submit" && el.type !== "file" &&
        !el.hasAttribute("data-draft-skip");
    });
  }

  function save(form) {
    var data = {};
    fields(form).forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) { (data[el.name] = data[el.name] || []).push(el.value); }
      } else if (el.value !== "") {
        data[el.name] = el.value;
      }
    });
    try { localStorage.setItem(PREFIX + form.dataset.draft, JSON.stringify({ saved: Date.now(), data: data })); }
    catch (e) { /* storage full or disabled: nothing to do */ }
  }

  function restore(form) {
    var raw;
    try { raw = localStorage.getItem(PREFIX + form.dataset.draft); } catch (e) { return; }
    if (!raw) { return; }
    var draft;
    try { draft = JSON.parse(raw).data || {}; } catch (e) { return; }
    var rows = form.querySelectorAll("[data-party]").length;
    var needed = Object.keys(draft).reduce(function (most, key) {
      var match = /^parties\.(\d+)\./.exec(key);
      return match ? Math.max(most, Number(match[1]) + 1) : most;
    }, 0);
    var source = typeof draft.source === "string" ? draft.source : "";
    var otherPath = form.dataset.source !== undefined && source && source !== form.dataset.source;
    /* the server's answer (its errors, what it kept) wins: never reload it for a draft's other rows */
    if (form.dataset.rowsUrl && !form.dataset.draftServer && ((rows && needed > rows) || otherPath)) {
      /* the draft has more parties, or another 案件来源 (its own fields), than the page: ask for them */
      var query = "?parties=" + Math.min(Math.max(needed, rows, 2), 20) + (otherPath ? "&source=" + encodeURIComponent(source) : "");
      window.location.replace(form.dataset.rowsUrl + query);
      return;
    }
    if (form.dataset.draftServer) { return; }  /* the server re-rendered what was typed: it wins */
    var restored = false;
    fields(form).forEach(function (el) {
      var value = draft[el.name];
      if (value === undefined) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = Array.isArray(value) && value.indexOf(el.value) >= 0;
      } else {
        el.value = value;
      }
      restored = true;
    });
    if (restored) {
      var note = form.querySelector("[data-draft-note]");
      if (note) { note.hidden = false; }
    }
  }

  function clearAll() {
    try {
      Object.keys(localStorage).forEach(function (key) {
        if (key.indexOf(PREFIX) === 0) { localStorage.removeItem(key); }
      });
    } catch (e) { /* storage disabled: nothing kept */ }
  }

  function init(root) {
    if ((root || document).querySelector("[data-draft-clear-all]")) { clearAll(); }
    (root || document).querySelectorAll("[data-draft-clear]").forEach(function (el) {
      try { localStorage.removeItem(PREFIX + el.getAttribute("data-draft-clear")); } catch (e) { /* ignore */ }
    });
    (root || document).querySelectorAll("form[data-draft]").forEach(function (form) {
      if (form.dataset.draftReady) { return; }
      form.dataset.draftReady = "1";
      restore(form);
      form.addEventListener("input", function () { save(form); });
      form.addEventListener("change", function () { save(form); });
      var discard = form.querySelector("[data-draft-discard]");
      if (discard) {
        discard.addEventListener("click", function () {
          try { localStorage.removeItem(PREFIX + form.dataset.draft); } catch (e) { /* ignore */ }
        });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (evt) { init(evt.target); });
})();
