/* The phone's outbox (issue 16), shared by the pages (outbox.js) and the service worker (sw.js).

   A registration made on the phone is kept in IndexedDB ("mediation_flow.outbox") until the server has it.
   Each entry is sealed: AES-GCM with the signed-in user's outbox key, which the server hands to that user's
   session (/register/outbox-key) and which the pages delete at sign-out and on the login page. Entries carry
   an opaque owner tag, never a name: another user of the browser lists nothing of them and cannot read them.
   Each entry has its own Idempotency-Key (crypto.randomUUID()), so sending it again (a reload, two tabs, the
   service worker and a page at once) never makes a second case. No inline script, no eval. */
(function (scope) {
  "use strict";
  var DB = "mediation_flow.outbox";
  var ENTRIES = "entries";
  var KEYS = "keys";
  var CURRENT = "current";

  function open() {
    return new Promise(function (resolve, reject) {
      var req = scope.indexedDB.open(DB, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains(ENTRIES)) { db.createObjectStore(ENTRIES, { keyPath: "key" }); }
        if (!db.objectStoreNames.contains(KEYS)) { db.createObjectStore(KEYS); }
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function run(store, mode, action) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(store, mode);
        var req = action(tx.objectStore(store));
        tx.oncomplete = function () { db.close(); resolve(req ? req.result : undefined); };
        tx.onerror = function () { db.close(); reject(tx.error); };
        tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function b64bytes(text) {
    var base = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base.length % 4) { base += "="; }
    var raw = scope.atob(base);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  /* The signed-in user's seal, fetched while online and kept (the key non-extractable) for offline use. */
  function refreshSeal() {
    return scope.fetch("/register/outbox-key", { credentials: "same-origin", cache: "no-store", redirect: "error" })
      .then(function (res) {
        if (!res.ok) { throw new Error("no seal"); }
        return res.json();
      })
      .then(function (seal) {
        return scope.crypto.subtle.importKey("raw", b64bytes(seal.key), { name: "AES-GCM" }, false, ["encrypt", "decrypt"])
          .then(function (key) {
            var record = { owner: seal.owner, key: key, csrf: seal.csrf };
            return run(KEYS, "readwrite", function (store) { return store.put(record, CURRENT); }).then(function () { return record; });
          });
      });
  }

  function currentSeal() {
    return run(KEYS, "readonly", function (store) { return store.get(CURRENT); });
  }

  /* Sign-out, the login page: the key goes, and the pages the user saw (their name, the CSRF token); the sealed
     entries stay (readable again only by the same user); the public assets stay for offline use. */
  function forgetSeal() {
    var work = [run(KEYS, "readwrite", function (store) { return store.clear(); })];
    if (scope.caches) {
      work.push(scope.caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) { return n.indexOf("mediation_flow.pages.") === 0; })
          .map(function (n) { return scope.caches.delete(n); }));
      }));
    }
    return Promise.all(work).catch(function () { /* nothing stored: nothing to forget */ });
  }

  function seal(record, content) {
    var iv = scope.crypto.getRandomValues(new Uint8Array(12));
    var plain = new TextEncoder().encode(JSON.stringify(content));
    return scope.crypto.subtle.encrypt({ name: "AES-GCM", iv: iv }, record.key, plain).then(function (data) {
      return { iv: iv, data: data };
    });
  }

  function unseal(record, entry) {
    return scope.crypto.subtle.decrypt({ name: "AES-GCM", iv: entry.iv }, record.key, entry.data).then(function (plain) {
      return JSON.parse(new TextDecoder().decode(plain));
    });
  }

  function put(record, key, content) {
    return seal(record, content).then(function (sealed) {
      var entry = { key: key, owner: record.owner, iv: sealed.iv, data: sealed.data, failed: !!content.errors };
      return run(ENTRIES, "readwrite", function (store) { return store.put(entry); });
    });
  }

  /* Keep a registration: its fields as typed and when the grid worker pressed 提交登记. */
  function add(record, fields, title) {
    var key = scope.crypto.randomUUID();
    var content = { fields: fields, title: title, recorded: new Date().toISOString() };
    return put(record, key, content).then(function () { return key; });
  }

  /* This user's entries, opened: [{key, title, recorded, fields, errors}] (others' entries are not listed). */
  function list(record) {
    if (!record) { return Promise.resolve([]); }
    return run(ENTRIES, "readonly", function (store) { return store.getAll(); }).then(function (all) {
      var mine = all.filter(function (e) { return e.owner === record.owner; });
      return Promise.all(mine.map(function (e) {
        return unseal(record, e).then(function (content) {
          content.key = e.key;
          return content;
        }, function () { return null; });
      }));
    }).then(function (opened) {
      return opened.filter(Boolean).sort(function (a, b) { return a.recorded < b.recorded ? -1 : 1; });
    });
  }

  function remove(key) {
    return run(ENTRIES, "readwrite", function (store) { return store.delete(key); });
  }

  /* Send one entry: "sent" (with the server's answer), "refused" (422: the errors are kept with the entry),
     or "stopped" (offline, signed out, the session's token stale: try again later). */
  function send(record, entry) {
    var body = new FormData();
    entry.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    body.set("csrf_token", record.csrf);
    body.set("effective_at", entry.recorded);
    var headers = { "Idempotency-Key": entry.key, "Accept": "application/json", "X-CSRF-Token": record.csrf };
    return scope.fetch("/register", { method: "POST", body: body, headers: headers, credentials: "same-origin", redirect: "manual" })
      .then(function (res) {
        if (res.status === 200 || res.status === 201) {
          return res.json().then(function (answer) {
            return remove(entry.key).then(function () { return { state: "sent", answer: answer, entry: entry }; });
          });
        }
        if (res.status === 422) {
          return res.json().then(function (refusal) {
            var kept = { fields: entry.fields, title: entry.title, recorded: entry.recorded, errors: refusal.errors || [] };
            return put(record, entry.key, kept).then(function () { return { state: "refused", entry: entry, errors: kept.errors }; });
          });
        }
        return { state: "stopped", entry: entry };
      }, function () { return { state: "stopped", entry: entry }; });
  }

  var syncing = null;

  /* Send every entry of the signed-in user that the server has not refused; one run at a time per page. */
  function sync() {
    if (syncing) { return syncing; }
    syncing = currentSeal().then(function (record) {
      if (!record) { return []; }
      return list(record).then(function (entries) {
        var results = [];
        var chain = Promise.resolve();
        entries.filter(function (e) { return !e.errors; }).forEach(function (entry) {
          chain = chain.then(function () {
            if (results.some(function (r) { return r.state === "stopped"; })) { return; }
            return send(record, entry).then(function (r) { results.push(r); });
          });
        });
        return chain.then(function () { return results; });
      });
    }).then(function (results) { syncing = null; return results; }, function (err) { syncing = null; throw err; });
    return syncing;
  }

  scope.mediationOutbox = {
    refreshSeal: refreshSeal,
    currentSeal: currentSeal,
    forgetSeal: forgetSeal,
    add: add,
    list: list,
    remove: remove,
    sync: sync
  };
})(self);
