/* The outbox on the pages (outbox-core.js does the storing, sealing and sending):
   - the registration form (form[data-outbox]) keeps each submission on the phone first, with its own
     Idempotency-Key and the time it was recorded; online it is sent at once (and the case page opens),
     offline the page says 已保存在手机上，联网后自动提交 and lists what is waiting;
   - the waiting list ([data-outbox-pending]: the form and the grid worker's home) is sent on page load, when
     the "online" event fires and when Background Sync wakes the service worker;
   - signing out, and the login page, delete the outbox key and the kept pages (the entries stay sealed).
   Without IndexedDB, WebCrypto or crypto.randomUUID the form posts as it does without JavaScript. */
(function () {
  "use strict";
  var box = self.mediationOutbox;
  var supported = !!(box && window.indexedDB && window.crypto && window.crypto.subtle && window.crypto.randomUUID);
  var DRAFT_PREFIX = "mediation_flow.draft.";
  var sentHere = [];
  var started = false;

  /* 2026年12月2日 10:36 in the township's time zone (the pages' <html data-zone>), as the server shows times */
  function shownTime(iso) {
    var zone = document.documentElement.getAttribute("data-zone") || undefined;
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-GB", { timeZone: zone, year: "numeric", month: "numeric", day: "numeric",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(iso)).forEach(function (p) {
        parts[p.type] = p.value;
      });
    } catch (e) { return ""; }
    return parts.year + "年" + Number(parts.month) + "月" + Number(parts.day) + "日 " + parts.hour + ":" + parts.minute;
  }

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function render() {
    var spots = document.querySelectorAll("[data-outbox-pending]");
    if (!spots.length || !supported) { return Promise.resolve(); }
    return box.currentSeal().then(function (record) { return box.list(record); }).then(function (entries) {
      spots.forEach(function (spot) { draw(spot, entries); });
    }).catch(function () { /* storage unavailable: nothing to show */ });
  }

  function draw(spot, entries) {
    spot.textContent = "";
    if (!entries.length && !sentHere.length) { spot.hidden = true; return; }
    spot.hidden = false;
    if (entries.length) {
      spot.appendChild(el("h2", "已保存在手机上，联网后自动提交（" + entries.length + "件）", { id: "outbox-title" }));
      var list = el("ul", "", { "data-outbox-list": "" });
      entries.forEach(function (entry) {
        var item = el("li", "", { "data-outbox-entry": "" });
        item.appendChild(el("b", entry.title || "（未填案件名称）"));
        item.appendChild(el("span", " 记录于 " + shownTime(entry.recorded), { "class": "muted" }));
        if (entry.errors) {
          var why = entry.errors.map(function (e) { return e.message; }).join("；");
          item.appendChild(el("p", "未能提交：" + why, { "data-failed": "" }));
          var form = document.querySelector("form[data-outbox]");
          if (form) {
            var fix = el("button", "填回表单修改", { type: "button", "class": "secondary" });
            fix.addEventListener("click", function () { refill(form, entry); });
            item.appendChild(fix);
          }
          var drop = el("button", "删除", { type: "button", "class": "secondary" });
          drop.addEventListener("click", function () { box.remove(entry.key).then(render); });
          item.appendChild(drop);
        }
        list.appendChild(item);
      });
      spot.appendChild(list);
      var waiting = entries.some(function (entry) { return !entry.errors; });  /* refused ones wait for the user */
      var state = !navigator.onLine ? "当前没有网络。" : waiting ? "正在提交……" : "未能提交的登记请修改后重新提交，或删除。";
      spot.appendChild(el("p", state, { "class": "hint", "data-outbox-state": "" }));
    }
    if (sentHere.length) {
      spot.appendChild(el("h2", "刚刚已自动提交"));
      var done = el("ul", "", { "data-outbox-sent": "" });
      sentHere.forEach(function (a) {
        var item = el("li");
        item.appendChild(el("a", a.number, { href: a.url }));
        item.appendChild(document.createTextNode(" " + a.title + "（登记时间 " + a.registered + "）"));
        done.appendChild(item);
      });
      spot.appendChild(done);
    }
  }

  function refill(form, entry) {
    entry.fields.forEach(function (pair) {
      var input = form.elements.namedItem(pair[0]);
      if (!input) { return; }
      if (input.length !== undefined && input.tagName !== "SELECT") {
        Array.prototype.forEach.call(input, function (box) { if (box.value === pair[1]) { box.checked = true; } });
      } else if (input.type === "checkbox") {
        input.checked = true;
      } else {
        input.value = pair[1];
      }
    });
    box.remove(entry.key).then(render);
    form.scrollIntoView();
  }

  function sync() {
    if (!supported || !navigator.onLine) { return Promise.resolve([]); }
    return box.refreshSeal().catch(function () { return null; }).then(function () { return box.sync(); }).then(function (results) {
      results.forEach(function (r) { if (r.state === "sent") { noteSent(r.answer); } });
      return render().then(function () { return results; });
    });
  }

  /* The page and the service worker's Background Sync may both send: whichever sent an entry, it is listed once. */
  function noteSent(answer) {
    if (answer && !sentHere.some(function (a) { return a.url === answer.url; })) { sentHere.push(answer); }
  }

  function askBackgroundSync() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) { return reg.sync.register("outbox"); }
    }).catch(function () { /* no Background Sync: the "online" event and the next page load send it */ });
  }

  function fields(form) {
    var out = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && name !== "csrf_token" && name !== "effective_at") { out.push([name, value]); }
    });
    return out;
  }

  function say(form, text) {
    var note = form.querySelector("[data-outbox-note]");
    if (note) { note.textContent = text; note.hidden = false; note.focus(); }
  }

  function keep(form, evt) {
    var submitter = evt.submitter;
    if (submitter && submitter.name) { return; }  /* 添加 / 删除当事人, 更新表单: the form's own buttons */
    evt.preventDefault();
    var note = form.querySelector("[data-outbox-note]");
    if (note) { note.hidden = true; note.textContent = ""; }  /* the last save's note is not this one's */
    var button = form.querySelector("[data-submit]");
    if (button) { button.disabled = true; button.textContent = "正在保存……"; }
    function done() { if (button) { button.disabled = false; button.textContent = "提交登记"; } }
    box.currentSeal().then(function (record) {
      if (!record) {
        if (navigator.onLine) { form.submit(); return; }
        done();
        say(form, "离线登记需要先在联网时打开一次登记页面。请联网后再提交。");
        return;
      }
      return box.add(record, fields(form), form.elements.namedItem("title").value).then(function (key) {
        if (!navigator.onLine) { return saved(form, key); }
        return sync().then(function (results) {
          var mine = results.filter(function (r) { return r.entry.key === key; })[0];
          if (mine && mine.state === "sent") {
            clearDraft(form);
            window.location.assign(mine.answer.url + "?new=1");
          } else if (mine && mine.state === "refused") {
            box.remove(key).then(function () { form.submit(); });  /* the server shows what to correct */
          } else {
            return saved(form, key);
          }
        });
      });
    }).then(done, function () { done(); form.submit(); });
  }

  function clearDraft(form) {
    try { localStorage.removeItem(DRAFT_PREFIX + form.dataset.draft); } catch (e) { /* storage disabled */ }
  }

  function saved(form, key) {
    clearDraft(form);
    form.reset();
    say(form, "已保存在手机上，联网后自动提交。");
    askBackgroundSync();
    return render();
  }

  function signOut(form, evt) {
    evt.preventDefault();
    var sw = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (sw) { sw.postMessage({ type: "forget" }); }
    box.forgetSeal().then(function () { form.submit(); }, function () { form.submit(); });
  }

  function init() {
    if (!supported) { return; }
    if (document.querySelector("[data-draft-clear-all]")) { box.forgetSeal(); }
    document.querySelectorAll("form[action='/logout']").forEach(function (form) {
      if (form.dataset.outboxReady) { return; }
      form.dataset.outboxReady = "1";
      form.addEventListener("submit", function (evt) { signOut(form, evt); });
    });
    var form = document.querySelector("form[data-outbox]");
    if (form && !form.dataset.outboxReady) {
      form.dataset.outboxReady = "1";
      form.addEventListener("submit", function (evt) { keep(form, evt); });
    }
    if (document.querySelector("[data-outbox-pending]") && !started) {
      started = true;
      if ("serviceWorker" in navigator) {
        navigator.serviceWorker.register("/sw.js").catch(function () { /* no service worker: online only */ });
      }
      render().then(sync);
    }
  }

  window.addEventListener("online", function () { sync(); });
  window.addEventListener("offline", function () { render(); });
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", function (evt) {
      if (evt.data && evt.data.type === "outbox-synced") { (evt.data.sent || []).forEach(noteSent); render(); }
    });
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:load", init);
})();
