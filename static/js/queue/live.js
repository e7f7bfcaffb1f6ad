/* Live updates for the staff queue and Task page. Socket messages carry ids and statuses only;
   on a message the page re-fetches its own permission-checked HTML and swaps the live parts. */
(function () {
  var start = document.currentScript && document.currentScript.dataset;  // no inline script: the CSP forbids it
  function socket(rooms) {
    if (typeof io === "undefined") return null;
    var s = io({ transports: ["websocket", "polling"] });
    s.on("connect", function () { rooms.forEach(function (r) { s.emit("join", { room: r }); }); });
    return s;
  }
  function debounce(fn, ms) { var t; return function () { clearTimeout(t); t = setTimeout(fn, ms); }; }
  function fetchHtml(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); });
  }
  window.ProclyLive = {
    queue: function () {
      var box = document.getElementById("work");
      var rooms = (box.dataset.rooms || "").split(",").filter(Boolean).map(function (id) { return "process:" + id; });
      var refresh = debounce(function () {
        fetchHtml(box.dataset.partial).then(function (html) {
          box.innerHTML = html;
          var n = box.querySelectorAll("tbody tr").length;
          document.getElementById("count-open").textContent = n;
          document.getElementById("count-overdue").textContent = box.querySelectorAll("tr.overdue").length + " overdue";
        });
      }, 250);
      var s = socket(rooms);
      if (!s) return;
      s.on("task.changed", refresh);
      s.on("notification", function () {
        var el = document.getElementById("count-unread");
        if (el) el.textContent = (parseInt(el.textContent, 10) || 0) + 1;
      });
    },
    task: function (taskId) {
      var root = document.getElementById("task-root");
      var refresh = debounce(function () {
        fetchHtml(root.dataset.partial).then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-live]").forEach(function (el) {
            if (!el.isConnected) return;   // inside a part already replaced
            var fresh = el.id && doc.getElementById(el.id);
            // never clobber a form the user is typing in
            if (fresh && !el.contains(document.activeElement)) el.replaceWith(fresh);
          });
          var st = doc.getElementById("task-status");
          if (st) document.getElementById("task-status").textContent = st.textContent;
          document.body.dataset.liveUpdates = (parseInt(document.body.dataset.liveUpdates || "0", 10) + 1) + "";
        });
      }, 200);
      var s = socket(["task:" + taskId]);
      if (!s) return;
      s.on("task.changed", refresh);
      s.on("comment.created", refresh);
    }
  };
  if (start && start.start === "queue") window.ProclyLive.queue();
  if (start && start.start === "task") window.ProclyLive.task(parseInt(start.task, 10));
})();
