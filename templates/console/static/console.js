// Pilu compliance console: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // When the console's own Chinese font arrives (a system without one), reshape the text once:
  // Chromium otherwise keeps empty boxes in text it shaped before the font was there.
  if (document.fonts && document.fonts.addEventListener) {
    var ours = function (face) { return face.family.replace(/["']/g, "") === "PiluHei"; };
    var reshape = function () { document.documentElement.classList.add("fonts-ready"); };
    var loaded = false;
    document.fonts.forEach(function (face) { if (ours(face) && face.status === "loaded") loaded = true; });
    if (loaded) {
      reshape();
    } else {
      document.fonts.addEventListener("loadingdone", function (event) {
        if (event.fontfaces.some(ours)) reshape();
      });
    }
  }

  // A submit button shows that work is under way and cannot be pressed twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var buttons = document.querySelectorAll("button[type=submit]");
    Array.prototype.forEach.call(buttons, function (button) {
      if (button.form !== form) return;
      var busy = button.getAttribute("data-busy-text");
      window.setTimeout(function () {
        button.disabled = true;
        if (busy) {
          button.setAttribute("data-label", button.textContent);
          button.textContent = busy;
        }
      }, 0);
    });
  });
  // Coming back with the browser's Back button must not leave buttons disabled.
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("button[disabled]"), function (b) {
      b.disabled = false;
      if (b.hasAttribute("data-label")) b.textContent = b.getAttribute("data-label");
    });
  });

  // Error summaries take the focus, so keyboard and screen-reader users land on them.
  var summary = document.querySelector("[data-focus]");
  if (summary) summary.focus();

  // A JSON syntax error: put the caret on the line it names.
  var payload = document.querySelector("textarea[data-error-line]");
  if (payload) {
    var line = parseInt(payload.getAttribute("data-error-line"), 10);
    if (line > 0) {
      var lines = payload.value.split("\n");
      var offset = 0;
      for (var i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
      payload.setSelectionRange(offset, offset + (lines[line - 1] || "").length);
    }
  }

  // The preview page: the PDF's pages, rendered (not stored) once the check has passed.
  var pagesBlock = document.querySelector("[data-preview-pages]");
  var generateForm = document.getElementById("generate-form");
  if (pagesBlock && generateForm && window.fetch && window.FormData) {
    var note = pagesBlock.querySelector("[data-pages-status]");
    note.textContent = "正在排版 PDF 页面…";
    fetch(pagesBlock.getAttribute("data-preview-pages"), {
      method: "POST", credentials: "same-origin", body: new FormData(generateForm),
    })
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        var list = pagesBlock.querySelector("ol");
        (answer.pages || []).forEach(function (p) {
          var img = document.createElement("img");
          img.src = p.src;
          img.width = Math.round(p.width / 2);
          img.height = Math.round(p.height / 2);
          img.alt = "第" + p.page + "页缩略图";
          var caption = document.createElement("figcaption");
          caption.textContent = "第" + p.page + "页";
          var figure = document.createElement("figure");
          figure.appendChild(img);
          figure.appendChild(caption);
          var li = document.createElement("li");
          li.appendChild(figure);
          list.appendChild(li);
        });
        note.textContent = answer.pages && answer.pages.length
          ? "共" + answer.pages.length + "页（按当前数据排版）。"
          : answer.problem || "暂时无法显示页面预览。";
      })
      .catch(function () { note.textContent = "暂时无法显示页面预览，可以直接生成。"; });
  }

  // A batch that is not finished: follow its progress (server-sent events, else polling).
  var block = document.querySelector("[data-batch-events]");
  if (!block) return;

  function setField(name, value) {
    var el = block.querySelector('[data-field="' + name + '"]');
    if (el) el.textContent = String(value);
  }

  function showStatus(batch) {
    setField("state_name", batch.state_name);
    setField("done", batch.done);
    setField("failed", batch.failed);
    setField("percent", batch.percent);
    var bar = block.querySelector("progress");
    if (bar) {
      bar.value = batch.percent;
      bar.textContent = batch.percent + "%";
    }
    block.setAttribute("data-batch-state", batch.state);
  }

  function showItems(items) {
    items.forEach(function (item) {
      var row = document.querySelector('tr[data-item="' + item.index + '"]');
      if (!row) return;
      var cell = row.querySelector('[data-field="state"]');
      if (cell) {
        var badge = document.createElement("span");
        badge.className = "state state-" + item.state;
        badge.textContent = item.state_name;
        cell.replaceChildren(badge);
      }
    });
  }

  var finished = false;
  function finish() {
    if (finished) return;
    finished = true;
    // The finished page lists failed items with their errors and links every document.
    window.setTimeout(function () { window.location.reload(); }, 300);
  }

  function poll() {
    fetch(block.getAttribute("data-batch-status"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        showStatus(data.batch);
        showItems(data.items);
        if (data.batch.state === "finished") finish();
        else window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  if (!window.EventSource) {
    poll();
    return;
  }
  var source = new EventSource(block.getAttribute("data-batch-events"));
  source.addEventListener("status", function (e) { showStatus(JSON.parse(e.data)); });
  source.addEventListener("items", function (e) { showItems(JSON.parse(e.data)); });
  source.addEventListener("finished", function (e) {
    showStatus(JSON.parse(e.data));
    source.close();
    finish();
  });
})();
