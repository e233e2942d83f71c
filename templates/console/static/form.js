// Pilu console: the new-document form, generated from the payload schema the server publishes
// (/console/form/schema.json). The JSON box below stays the payload that is submitted; the form
// and the box edit the same object, each way. Numbers of headings, printed tables (合计, 占比)
// and errors come from the server (/console/form/live.json), never computed here.
(function () {
  "use strict";

  var mount = document.getElementById("form-editor");
  var box = document.getElementById("payload");
  if (!mount || !box || !window.fetch) return;

  var csrf = (document.querySelector('input[name="csrf"]') || {}).value || "";
  var draftInput = document.querySelector('input[name="draft_id"]');
  var S = null; // the form schema answer
  var defs = null;
  var payload = {};
  var previous = {}; // path → last year's value ("start from last year")
  var live = { headings: {}, tables: {}, errors: [], figures: {} };
  var seq = 0;
  var liveTimer = null;
  var boxTimer = null;
  var pendingFocus = null;
  var importErrors = []; // cells a spreadsheet import could not read: {path, message}

  // --- small helpers ----------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") node.textContent = v;
        else if (k === "className") node.className = v;
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function button(text, onclick, extra) {
    var attrs = { type: "button", className: "small secondary", text: text, onclick: onclick };
    Object.keys(extra || {}).forEach(function (k) { attrs[k] = extra[k]; });
    return el("button", attrs);
  }

  var opened = {}; // details the user opened, by key: kept open when the form is rebuilt

  function details(key, summary, children) {
    var node = el("details", { className: key.split(":")[0], open: !!opened[key] }, [el("summary", { text: summary })].concat(children || []));
    node.addEventListener("toggle", function () { opened[key] = node.open; });
    return node;
  }

  function idFor(path) { return "f" + path.replace(/[^A-Za-z0-9_-]/g, "-"); }

  function parse(path) {
    var out = [];
    var re = /\.([^.\[\]]+)|\[(\d+)\]/g;
    var m;
    var rest = path.replace(/^\$/, "");
    while ((m = re.exec(rest)) !== null) out.push(m[1] !== undefined ? m[1] : parseInt(m[2], 10));
    return out;
  }

  function join(path, key) { return typeof key === "number" ? path + "[" + key + "]" : path + "." + key; }

  function getAt(path) {
    var node = payload;
    var parts = parse(path);
    for (var i = 0; i < parts.length; i++) {
      if (node === null || typeof node !== "object") return undefined;
      node = node[parts[i]];
    }
    return node;
  }

  function setAt(path, value) {
    var parts = parse(path);
    var node = payload;
    for (var i = 0; i < parts.length - 1; i++) {
      var key = parts[i];
      if (node[key] === null || typeof node[key] !== "object") {
        node[key] = typeof parts[i + 1] === "number" ? [] : {};
      }
      node = node[key];
    }
    var last = parts[parts.length - 1];
    if (value === undefined) {
      if (Array.isArray(node)) node.splice(last, 1);
      else delete node[last];
    } else {
      node[last] = value;
    }
  }

  function resolve(node) {
    var nullable = false;
    var name = null;
    for (var guard = 0; guard < 20 && node; guard++) {
      if (node.$ref) {
        name = node.$ref.replace("#/$defs/", "");
        node = Object.assign({}, defs[name], { title: node.title || defs[name].title,
          description: node.description || defs[name].description });
      } else if (node.anyOf) {
        var branches = node.anyOf.filter(function (b) { return b.type !== "null"; });
        nullable = nullable || branches.length < node.anyOf.length;
        var outer = node;
        node = Object.assign({}, branches[0] || {});
        if (!node.title) node.title = outer.title;
        if (!node.description) node.description = outer.description;
        if (branches.length > 1) node.anyOfTypes = branches.map(function (b) { return b.type; });
      } else break;
    }
    return { node: node || {}, nullable: nullable, def: name };
  }

  function kindInfo() {
    var name = payload.kind || S.default_kind;
    return S.kinds.filter(function (k) { return k.name === name; })[0] || S.kinds[0];
  }

  function enumNames(node) {
    // "source 投诉来源, region 地区" or "year 全年，H1 上半年" in the description: the values' names.
    var names = {};
    var text = node.description || "";
    text.split(/[,，；;]\s*/).forEach(function (part) {
      var m = /^\s*(\S+)\s+(.+?)\s*$/.exec(part);
      if (m && node.enum.map(String).indexOf(m[1]) >= 0) names[m[1]] = m[2];
    });
    return names;
  }

  function figureFor(path) {
    var dotted = path.replace(/^\$\./, "").replace(/\[\d+\]/g, "");
    return kindInfo().figures.filter(function (f) { return f.source === dotted; })[0] || null;
  }

  function emptyOf(schemaNode) {
    var r = resolve(schemaNode);
    var n = r.node;
    if (n.default !== undefined && n.default !== null && typeof n.default !== "object") return n.default;
    if (n.enum) return n.enum[0];
    if (n.type === "object" || n.properties) {
      var out = {};
      (n.required || []).forEach(function (k) {
        var p = n.properties[k];
        var rp = resolve(p).node;
        if (rp.const !== undefined) out[k] = rp.const;
        else out[k] = emptyOf(p);
      });
      return out;
    }
    if (n.type === "array") return [];
    if (n.type === "integer" || n.type === "number") return 0;
    if (n.type === "boolean") return false;
    return "";
  }

  // --- change propagation ------------------------------------------------------------------

  function changed(structural) {
    box.value = JSON.stringify(payload, null, 2);
    status("");
    if (structural) render();
    scheduleLive();
  }

  function scheduleLive() {
    window.clearTimeout(liveTimer);
    liveTimer = window.setTimeout(askLive, 400);
  }

  function askLive() {
    var mine = ++seq;
    mount.setAttribute("aria-busy", "true");
    var base = mount.getAttribute("data-base");
    fetch("/console/form/live.json" + (base ? "?base=" + encodeURIComponent(base) : ""), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload),
    })
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        if (mine !== seq) return;
        live = {
          headings: answer.headings || {},
          tables: answer.tables || {},
          errors: answer.errors || [],
          figures: answer.figures || {},
          computed: answer.computed || {},
          problem: answer.problem || (answer.error && answer.error.message) || "",
        };
        showLive();
      })
      .catch(function () {})
      .then(function () { if (mine === seq) mount.removeAttribute("aria-busy"); });
  }

  // --- live results: numbers, printed tables, errors ---------------------------------------

  function showLive() {
    Array.prototype.forEach.call(mount.querySelectorAll("[data-heading-for]"), function (span) {
      span.textContent = live.headings[span.getAttribute("data-heading-for")] || "";
    });
    Array.prototype.forEach.call(mount.querySelectorAll("[data-grid]"), showTable);
    Array.prototype.forEach.call(mount.querySelectorAll("[data-figure-value]"), function (node) {
      var v = live.figures[node.getAttribute("data-figure-value")];
      node.textContent = v === undefined ? "" : "印出：" + v;
    });
    Array.prototype.forEach.call(mount.querySelectorAll("option[data-figure]"), function (opt) {
      var name = opt.getAttribute("data-figure");
      var v = live.figures[name];
      opt.textContent = opt.getAttribute("data-label") + (v !== undefined ? "：" + v : "");
    });
    showComputed();
    showErrors();
  }

  function showComputed() {
    Array.prototype.forEach.call(mount.querySelectorAll(".computed-offer"), function (n) { n.remove(); });
    Object.keys(live.computed || {}).forEach(function (path) {
      var holder = mount.querySelector('.f-field[data-path="' + path + '"] .f-control');
      if (!holder) return;
      var value = live.computed[path];
      holder.appendChild(el("span", { className: "computed-offer" }, [
        "按上年存档计算：" + value + " ",
        button("填入", function () {
          setAt(path, value);
          pendingFocus = path;
          changed(true);
        }, { "aria-label": "填入按上年存档计算的值 " + value }),
      ]));
    });
  }

  function showTable(grid) {
    var path = grid.getAttribute("data-grid");
    var printed = live.tables[path];
    var body = grid.querySelector("tbody");
    var foot = grid.querySelector("tfoot");
    var caption = grid.querySelector("[data-printed-title]");
    foot.replaceChildren();
    var rows = body.querySelectorAll("tr[data-row]");
    Array.prototype.forEach.call(rows, function (tr, i) {
      var cells = printed && printed.rows[i] ? printed.rows[i].cells : null;
      Array.prototype.forEach.call(tr.querySelectorAll("[data-computed]"), function (td) {
        td.textContent = cells ? cells[parseInt(td.getAttribute("data-computed"), 10)] : "—";
      });
    });
    if (caption) caption.textContent = printed ? printed.title : "";
    if (!printed) return;
    printed.rows.slice(rows.length).forEach(function (row) {
      var tr = el("tr", { className: row.kind === "total" ? "total" : "other" });
      row.cells.forEach(function (c, i) {
        tr.appendChild(i === 0 ? el("th", { scope: "row", text: c }) : el("td", { className: "num", text: c }));
      });
      tr.appendChild(el("td", {}));
      foot.appendChild(tr);
    });
    var notes = grid.parentNode.querySelector("[data-printed-notes]");
    if (notes) notes.textContent = (printed.notes || []).join(" ");
  }

  function slotFor(path) {
    var p = path;
    while (p) {
      var found = mount.querySelector('[data-path="' + p.replace(/"/g, '\\"') + '"]');
      if (found) return { node: found, exact: p === path };
      if (p === "$") break;
      var cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      p = cut > 0 ? p.slice(0, cut) : "$";
    }
    return { node: mount.querySelector('[data-path="$"]'), exact: false };
  }

  function showErrors() {
    Array.prototype.forEach.call(mount.querySelectorAll(".live-error"), function (n) { n.remove(); });
    Array.prototype.forEach.call(mount.querySelectorAll("[aria-invalid]"), function (n) {
      n.removeAttribute("aria-invalid");
    });
    Array.prototype.forEach.call(mount.querySelectorAll(".has-error"), function (n) {
      n.classList.remove("has-error");
    });
    var summary = document.getElementById("form-errors");
    var list = summary.querySelector("ul");
    list.replaceChildren();
    live.errors.forEach(function (e) {
      var slot = slotFor(e.path);
      var holder = slot.node;
      var message = el("p", { className: "error-message live-error", "data-error-path": e.path }, [
        el("span", { className: "visually-hidden", text: "错误：" }),
        slot.exact ? e.message : e.label + "：" + e.message,
      ]);
      var where = holder.querySelector(":scope > .f-errors") || holder.querySelector(".f-errors") || holder;
      where.appendChild(message);
      holder.classList.add("has-error");
      var input = holder.matches("input,select,textarea") ? holder : holder.querySelector("input,select,textarea");
      if (input && slot.exact) input.setAttribute("aria-invalid", "true");
      var target = input && slot.exact ? input : holder;
      list.appendChild(el("li", {}, [
        el("a", { href: "#" + (target.id || ""), onclick: function (ev) {
          ev.preventDefault();
          if (!target.id) target.setAttribute("tabindex", "-1");
          target.focus();
        } }, [el("span", { className: "field-label", text: e.label }), "：" + e.message]),
      ]));
    });
    importErrors.forEach(function (e) {
      var slot = slotFor(e.path);
      var where = slot.node.querySelector(".f-errors") || slot.node;
      where.appendChild(el("p", { className: "error-message live-error import-error", text: e.message }));
      slot.node.classList.add("has-error");
      var input = slot.node.querySelector("input");
      if (input && slot.exact) input.setAttribute("aria-invalid", "true");
    });
    var title = summary.querySelector("h2");
    if (live.problem) {
      title.textContent = live.problem;
      summary.hidden = false;
    } else if (live.errors.length) {
      title.textContent = "还有" + live.errors.length + "处问题（改正后自动重新检查）";
      summary.hidden = false;
    } else {
      summary.hidden = !Object.keys(payload).length;
      title.textContent = "数据检查通过，可以预览并生成。";
    }
    summary.classList.toggle("ok", !live.errors.length && !live.problem);
  }

  // --- the generic field renderer ----------------------------------------------------------

  function hint(node, extra) {
    var text = [node.description || "", extra || ""].filter(Boolean).join("；");
    return text ? el("p", { className: "hint", text: text }) : null;
  }

  function wrapField(path, labelText, control, node, extras) {
    var id = control.id || idFor(path);
    control.id = id;
    var figure = figureFor(path);
    var unit = figure && figure.unit ? figure.unit : "";
    var limits = [];
    if (node.minimum !== undefined && node.maximum !== undefined) limits.push("范围 " + node.minimum + "–" + node.maximum);
    else if (node.minimum !== undefined) limits.push("不小于 " + node.minimum);
    if (node.maxLength && node.maxLength <= 200) limits.push("最多" + node.maxLength + "字");
    var help = hint(node, limits.join("，"));
    if (help) {
      help.id = id + "-hint";
      control.setAttribute("aria-describedby", help.id);
    }
    var prev = previous[path];
    var row = el("div", { className: "f-field", "data-path": path }, [
      el("label", { for: id, text: labelText + (unit && labelText.indexOf(unit) < 0 ? "（" + unit + "）" : "") }),
      help,
      el("div", { className: "f-control" }, [
        control,
        unit ? el("span", { className: "unit", text: unit }) : null,
        prev !== undefined && prev !== null ? el("span", { className: "previous", text: "上年：" + prev }) : null,
        figure ? el("span", { className: "printed", "data-figure-value": figure.name }) : null,
      ].concat(extras || [])),
      el("div", { className: "f-errors" }),
    ]);
    return row;
  }

  function scalar(path, key, schemaNode, required) {
    var r = resolve(schemaNode);
    var node = r.node;
    var value = getAt(path);
    var title = node.title || String(key);
    var control;
    var type = node.type || (node.anyOfTypes ? node.anyOfTypes[0] : "string");
    if (node.enum) {
      var names = enumNames(node);
      control = el("select", {});
      if (r.nullable || !required) {
        var fallback = node.default !== undefined && node.default !== null ? "，按默认：" + (names[String(node.default)] ? node.default + " " + names[String(node.default)] : node.default) : "";
        control.appendChild(el("option", { value: "", text: "（不填" + fallback + "）" }));
      }
      node.enum.forEach(function (v) {
        control.appendChild(el("option", { value: String(v), text: names[String(v)] ? v + " " + names[String(v)] : String(v),
          selected: String(value) === String(v) }));
      });
      control.addEventListener("change", function () {
        var raw = control.value;
        var v = raw === "" ? undefined : typeof node.enum[0] === "number" ? Number(raw) : raw;
        setAt(path, v);
        changed(key === "dimension" || key === "kind" || key === "ladder_start");
      });
    } else if (type === "boolean") {
      control = el("input", { type: "checkbox", checked: value === true });
      control.addEventListener("change", function () { setAt(path, control.checked); changed(false); });
    } else if (type === "integer" || type === "number") {
      control = el("input", { type: "text", inputmode: type === "integer" ? "numeric" : "decimal",
        value: value === undefined || value === null ? "" : String(value), size: 12, className: "num" });
      control.addEventListener("input", function () {
        var raw = control.value.trim().replace(/,/g, "");
        var v;
        if (raw === "") v = r.nullable || !required ? undefined : "";
        else if (/^-?\d+$/.test(raw) && type === "integer") v = parseInt(raw, 10);
        else if (/^-?\d+(\.\d+)?$/.test(raw)) {
          // A number as typed; where the schema also takes text, digits a number would not keep
          // as typed (10.00, 0.10) stay text, which prints exactly as given.
          var textToo = node.anyOfTypes && node.anyOfTypes.indexOf("string") >= 0;
          v = textToo && String(Number(raw)) !== raw ? raw : Number(raw);
        }
        else v = raw; // kept as typed: the server names the problem
        setAt(path, v);
        changed(false);
      });
    } else {
      var long = node.maxLength > 200 || (!node.maxLength && !node.pattern && !node.format && node.type === "string" && !node.anyOfTypes);
      if (node.format === "date") control = el("input", { type: "date", value: value || "" });
      else if (long) control = el("textarea", { rows: 3 }, []);
      else control = el("input", { type: "text", value: value || "", maxlength: node.maxLength || null,
        pattern: node.pattern ? node.pattern.replace(/^\^|\$$/g, "") : null, spellcheck: node.pattern ? "false" : null });
      if (long && node.format !== "date") control.value = value || "";
      control.addEventListener("input", function () {
        setAt(path, control.value === "" && (r.nullable || !required) ? undefined : control.value);
        changed(false);
      });
    }
    return wrapField(path, title, control, node);
  }

  function objectFields(path, node, skip) {
    var out = [];
    var props = node.properties || {};
    var required = node.required || [];
    Object.keys(props).forEach(function (key) {
      if (skip && skip.indexOf(key) >= 0) return;
      var child = props[key];
      var rn = resolve(child).node;
      if (rn.const !== undefined) return;
      out.push(field(join(path, key), key, child, required.indexOf(key) >= 0));
    });
    return out;
  }

  function field(path, key, schemaNode, required) {
    var r = resolve(schemaNode);
    var node = r.node;
    if (key === "sections" && r.def === null && node.items && node.items.$ref === "#/$defs/Section") {
      return sectionsEditor(path);
    }
    if (key === "house_style" && S.house_styles.length) {
      node = Object.assign({}, node, { enum: S.house_styles.map(function (s) { return s.name; }),
        description: S.house_styles.map(function (s) { return s.name + " " + s.label; }).join("，") });
      return scalar(path, key, node, true);
    }
    if (r.def === "Breakdown") return gridEditor(path, "breakdown");
    if (r.def === "TableSpec") return tableEditor(path);
    if (node.type === "array") return arrayEditor(path, key, node, required);
    if (node.type === "object" || node.properties) {
      var value = getAt(path);
      var present = value !== undefined && value !== null;
      var legend = el("legend", { text: node.title || String(key) });
      var set = el("fieldset", { className: "f-group", "data-path": path }, [legend, el("div", { className: "f-errors" })]);
      if (!present) {
        set.classList.add("absent");
        set.appendChild(button("填写「" + (node.title || key) + "」", function () {
          setAt(path, emptyOf(schemaNode));
          pendingFocus = path;
          changed(true);
        }, { "data-add": path }));
        return set;
      }
      if (!required || r.nullable) {
        set.appendChild(button("不填「" + (node.title || key) + "」", function () {
          setAt(path, undefined);
          pendingFocus = parentPath(path);
          changed(true);
        }));
      }
      objectFields(path, node).forEach(function (c) { set.appendChild(c); });
      return set;
    }
    return scalar(path, key, schemaNode, required);
  }

  function parentPath(path) {
    var cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
    return cut > 0 ? path.slice(0, cut) : "$";
  }

  function moveButtons(listPath, index, length, what) {
    var list = function () { return getAt(listPath); };
    function move(delta) {
      return function () {
        var items = list();
        var to = index + delta;
        var item = items.splice(index, 1)[0];
        items.splice(to, 0, item);
        pendingFocus = join(listPath, to);
        changed(true);
      };
    }
    return el("div", { className: "item-actions" }, [
      button("上移", move(-1), { disabled: index === 0, "aria-label": "上移" + what, "data-action": "上移" }),
      button("下移", move(1), { disabled: index === length - 1, "aria-label": "下移" + what, "data-action": "下移" }),
      button("删除", function () {
        list().splice(index, 1);
        pendingFocus = length > 1 ? join(listPath, Math.max(0, index - 1)) : listPath;
        changed(true);
      }, { "aria-label": "删除" + what, className: "small danger", "data-action": "删除" }),
    ]);
  }

  function arrayEditor(path, key, node, required) {
    var items = getAt(path);
    if (!Array.isArray(items)) items = [];
    var title = node.title || String(key);
    var set = el("fieldset", { className: "f-group f-list", "data-path": path }, [
      el("legend", { text: title }),
      hint(node),
      el("div", { className: "f-errors" }),
    ]);
    var ol = el("ol", { className: "f-items" });
    items.forEach(function (_, i) {
      var itemPath = join(path, i);
      var itemNode = resolve(node.items).node;
      var what = "第" + (i + 1) + "项" + title;
      var child = itemNode.type === "object" || itemNode.properties
        ? field(itemPath, title + " 第" + (i + 1) + "项", node.items, true)
        : scalar(itemPath, title + " 第" + (i + 1) + "项", node.items, true);
      ol.appendChild(el("li", { "data-item": itemPath }, [child, moveButtons(path, i, items.length, what)]));
    });
    set.appendChild(ol);
    set.appendChild(button("添加一项" + title, function () {
      var list = getAt(path);
      if (!Array.isArray(list)) { setAt(path, []); list = getAt(path); }
      list.push(emptyOf(node.items));
      pendingFocus = join(path, list.length - 1);
      changed(true);
    }, { "data-add": path }));
    return set;
  }

  // --- sections: the heading ladder ---------------------------------------------------------

  function sectionsEditor(path) {
    var sections = getAt(path);
    if (!Array.isArray(sections)) sections = [];
    var depth = (path.match(/\.sections/g) || []).length;
    var box2 = el("div", { className: "f-sections depth-" + depth, "data-path": path }, [el("div", { className: "f-errors" })]);
    var ol = el("ol", { className: "f-items sections" });
    sections.forEach(function (section, i) {
      ol.appendChild(sectionEditor(join(path, i), path, i, sections.length));
    });
    box2.appendChild(ol);
    var levels = S.ladder_levels - ((payload.ladder_start || 1) - 1);
    if (depth < levels) {
      box2.appendChild(button(depth === 1 ? "添加章节" : "添加下级章节", function () {
        var list = getAt(path);
        if (!Array.isArray(list)) { setAt(path, []); list = getAt(path); }
        list.push({ title: "", content: [] });
        pendingFocus = join(path, list.length - 1) + ".title";
        changed(true);
      }, { "data-add": path }));
    }
    return box2;
  }

  function sectionEditor(path, listPath, index, length) {
    var section = getAt(path) || {};
    var sectionDef = defs.Section;
    var titleInput = el("input", { type: "text", value: section.title || "", maxlength: sectionDef.properties.title.maxLength,
      className: "section-title", id: idFor(path + ".title") });
    titleInput.addEventListener("input", function () {
      setAt(path + ".title", titleInput.value);
      Array.prototype.forEach.call(head.querySelectorAll("button[data-action]"), function (b) {
        b.setAttribute("aria-label", b.getAttribute("data-action") + "章节「" + titleInput.value + "」");
      });
      changed(false);
    });
    var number = el("span", { className: "heading-number", "data-heading-for": path, text: live.headings[path] || "" });
    var head = el("div", { className: "section-head f-field", "data-path": path + ".title" }, [
      el("label", { for: titleInput.id, className: "visually-hidden", text: "章节标题" }),
      number, titleInput,
      moveButtons(listPath, index, length, "章节「" + (section.title || "") + "」"),
      el("div", { className: "f-errors" }),
    ]);
    var li = el("li", { className: "section", "data-path": path, "data-item": path }, [head, el("div", { className: "f-errors" })]);
    li.appendChild(contentEditor(path + ".content"));
    li.appendChild(sectionsEditor(path + ".sections"));
    return li;
  }

  function contentEditor(path) {
    var items = getAt(path);
    if (!Array.isArray(items)) items = [];
    var wrap = el("div", { className: "f-content", "data-path": path }, [el("div", { className: "f-errors" })]);
    var ol = el("ol", { className: "f-items content" });
    items.forEach(function (item, i) {
      var itemPath = join(path, i);
      var body;
      var what;
      if (typeof item === "string") { body = paragraphEditor(itemPath, "第" + (i + 1) + "段"); what = "第" + (i + 1) + "段"; }
      else if (item && typeof item === "object" && "table" in item) { body = tableEditor(itemPath + ".table"); what = "统计表"; }
      else { body = scalar(itemPath + ".insert", "insert", insertSchema(), true); what = "生成内容"; }
      ol.appendChild(el("li", { "data-item": itemPath, "data-path": itemPath }, [body, moveButtons(path, i, items.length, what)]));
    });
    wrap.appendChild(ol);
    function add(value, focus) {
      return function () {
        var list = getAt(path);
        if (!Array.isArray(list)) { setAt(path, []); list = getAt(path); }
        list.push(value());
        pendingFocus = join(path, list.length - 1) + (focus || "");
        changed(true);
      };
    }
    var kind = kindInfo();
    wrap.appendChild(el("div", { className: "add-bar" }, [
      button("添加段落", add(function () { return ""; }), { "data-add": path }),
      kind.narrative ? button("添加生成内容", add(function () { return { insert: insertSchema().enum[0] }; }, ".insert")) : null,
      button("添加统计表", add(function () { return { table: emptyTable() }; }, ".table.title")),
    ]));
    return wrap;
  }

  function insertSchema() {
    var node = Object.assign({}, defs.Insert.properties.insert);
    var allowed = kindInfo().inserts;
    if (allowed) node.enum = node.enum.filter(function (v) { return allowed.indexOf(v) >= 0; });
    return node;
  }

  function paragraphEditor(path, name) {
    var text = getAt(path) || "";
    var area = el("textarea", { rows: 4, id: idFor(path), className: "paragraph" });
    area.value = text;
    area.addEventListener("input", function () { setAt(path, area.value); changed(false); });
    var figures = kindInfo().figures;
    var pick = el("select", { id: idFor(path) + "-figure", "aria-label": name + "：选择要引用的数据" },
      [el("option", { value: "", text: "引用数据…" })].concat(figures.map(function (f) {
        var v = live.figures[f.name];
        var name = f.label + (f.unit && f.label.indexOf(f.unit) < 0 ? "（" + f.unit + "）" : "");
        return el("option", { value: f.name, "data-figure": f.name, "data-label": name,
          text: name + (v !== undefined ? "：" + v : "") });
      })));
    var insert = button("插入引用", function () {
      if (!pick.value) { pick.focus(); return; }
      var token = "{" + pick.value + "}";
      var at = area.selectionStart || area.value.length;
      area.value = area.value.slice(0, at) + token + area.value.slice(area.selectionEnd || at);
      setAt(path, area.value);
      changed(false);
      area.focus();
      area.setSelectionRange(at + token.length, at + token.length);
    }, { "aria-label": name + "：在光标处插入所选数据的引用" });
    return el("div", { className: "f-field paragraph-field", "data-path": path }, [
      el("label", { for: area.id, text: name }),
      area,
      el("div", { className: "figure-pick" }, [pick, insert]),
      el("div", { className: "f-errors" }),
    ]);
  }

  // --- tables and breakdowns as grids --------------------------------------------------------

  function emptyTable() {
    return {
      title: "",
      label_title: "项目",
      columns: [{ key: "n", title: "件数", type: "count" }, { key: "share", title: "占比", type: "share", of: "n" }],
      rows: [{ label: "", values: { n: 0 } }],
      total: { label: "合计" },
    };
  }

  function given(column) { return column.type !== "share" && column.type !== "change"; }

  function tableEditor(path) {
    var spec = getAt(path) || {};
    var node = resolve({ $ref: "#/$defs/TableSpec" }).node;
    var set = el("fieldset", { className: "f-group f-table", "data-path": path }, [
      el("legend", { text: node.title === "TableSpec" ? "统计表" : node.title || "统计表" }),
      el("div", { className: "f-errors" }),
    ]);
    objectFields(path, node, ["rows", "total", "other_label", "notes", "columns"]).forEach(function (c) { set.appendChild(c); });
    var columns = details("columns:" + path, "列（" + (spec.columns || []).length + "列）");
    columns.appendChild(arrayEditor(path + ".columns", "columns", node.properties.columns, true));
    set.appendChild(columns);
    set.appendChild(gridEditor(path, "table"));
    var more = details("more:" + path, "合计行、“其他”行与表注");
    objectFields(path, node, ["title", "label_title", "columns", "rows"]).forEach(function (c) { more.appendChild(c); });
    set.appendChild(more);
    return set;
  }

  function gridEditor(path, what) {
    var value = getAt(path) || {};
    var breakdown = what === "breakdown";
    var columns = breakdown
      ? [{ key: "count", title: resolve(defs.BreakdownRow.properties.count).node.title, type: "count" }, { key: "share", title: "占比", type: "share" }]
      : (value.columns || []).filter(function (c) { return c && c.key; });
    var rowsPath = path + ".rows";
    var rows = Array.isArray(value.rows) ? value.rows : [];
    var labelTitle = breakdown ? "名称" : value.label_title || "名称";
    var gridId = idFor(path) + "-grid";
    var table = el("table", { className: "grid", id: gridId, "data-grid": path }, [
      el("caption", {}, [el("span", { text: "印出的表：" }), el("span", { "data-printed-title": "" })]),
      el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: labelTitle })]
        .concat(columns.map(function (c) { return el("th", { scope: "col", className: "num", text: c.title + (given(c) ? "" : "（自动）") }); }))
        .concat([el("th", { scope: "col" }, [el("span", { className: "visually-hidden", text: "操作" })])]))]),
      el("tbody", {}),
      el("tfoot", {}),
    ]);
    var body = table.querySelector("tbody");
    function cellPath(rowPath, column) {
      return breakdown ? rowPath + "." + column.key : rowPath + ".values." + column.key;
    }
    function addRow(rowPath, row, kind, listPath, index, length, parentLabel) {
      var labelInput = el("input", { type: "text", value: row.label || "", id: idFor(rowPath + ".label"),
        "aria-label": (kind === "sub" ? "其中行名称（" + (parentLabel || "") + "）" : "行名称") + " 第" + (index + 1) + "行" });
      labelInput.addEventListener("input", function () { setAt(rowPath + ".label", labelInput.value); changed(false); });
      var tr = el("tr", { "data-row": rowPath, className: kind === "sub" ? "sub" : "" }, [
        el("th", { scope: "row", "data-path": rowPath + ".label" }, [
          kind === "sub" ? el("span", { className: "sub-mark", text: "其中：" }) : null, labelInput,
          el("div", { className: "f-errors" }),
        ]),
      ]);
      columns.forEach(function (c, ci) {
        if (!given(c)) {
          tr.appendChild(el("td", { className: "num computed", "data-computed": ci + 1, "data-path": cellPath(rowPath, c), text: "—" }));
          return;
        }
        var p = cellPath(rowPath, c);
        var v = getAt(p);
        var input = el("input", { type: "text", value: v === undefined || v === null ? "" : String(v), id: idFor(p),
          className: c.type === "text" ? "" : "num", inputmode: c.type === "text" ? null : "decimal", size: 8,
          "aria-label": (row.label || "第" + (index + 1) + "行") + " · " + c.title });
        input.addEventListener("input", function () {
          var raw = input.value.trim().replace(/,/g, "");
          var out = raw;
          if (c.type === "count" && /^-?\d+$/.test(raw)) out = parseInt(raw, 10);
          else if (c.type !== "text" && /^-?\d+(\.\d+)?$/.test(raw)) out = c.type === "count" ? Number(raw) : raw;
          if (raw === "" && !breakdown) out = undefined;
          importErrors = importErrors.filter(function (e) { return e.path !== p; });
          setAt(p, out);
          changed(false);
        });
        var prev = previous[p];
        tr.appendChild(el("td", { className: "num", "data-path": p }, [input,
          prev !== undefined ? el("span", { className: "previous", text: "上年：" + prev }) : null,
          el("div", { className: "f-errors" })]));
      });
      var actions = moveButtons(listPath, index, length, (kind === "sub" ? "其中行" : "行") + "「" + (row.label || index + 1) + "」");
      if (kind !== "sub") {
        actions.appendChild(button("添加其中行", function () {
          var subs = getAt(rowPath + ".subrows");
          if (!Array.isArray(subs)) { setAt(rowPath + ".subrows", []); subs = getAt(rowPath + ".subrows"); }
          subs.push(breakdown ? { label: "", count: 0 } : { label: "", values: {} });
          pendingFocus = rowPath + ".subrows[" + (subs.length - 1) + "].label";
          changed(true);
        }, { "aria-label": "为「" + (row.label || index + 1) + "」添加其中行" }));
      }
      tr.appendChild(el("td", { className: "row-actions" }, [actions]));
      body.appendChild(tr);
      if (kind !== "sub" && Array.isArray(row.subrows)) {
        row.subrows.forEach(function (sub, si) {
          addRow(rowPath + ".subrows[" + si + "]", sub || {}, "sub", rowPath + ".subrows", si, row.subrows.length, row.label);
        });
      }
    }
    rows.forEach(function (row, i) { addRow(join(rowsPath, i), row || {}, "row", rowsPath, i, rows.length); });
    var wrap = el("div", { className: "f-grid", "data-path": rowsPath }, [el("div", { className: "f-errors" })]);
    var addRowButton = button("添加一行", function () {
      var list = getAt(rowsPath);
      if (!Array.isArray(list)) { setAt(rowsPath, []); list = getAt(rowsPath); }
      list.push(breakdown ? { label: "" } : { label: "", values: {} });
      pendingFocus = join(rowsPath, list.length - 1) + ".label";
      changed(true);
    }, { "data-add": rowsPath, "aria-label": "在表格末尾添加一行" });
    if (breakdown) {
      var set = el("fieldset", { className: "f-group f-breakdown", "data-path": path }, [
        el("legend", { text: (resolve(defs.Breakdown).node.title === "Breakdown" ? "分布表" : "分布表") }),
        el("div", { className: "f-errors" }),
      ]);
      objectFields(path, defs.Breakdown, ["rows"]).forEach(function (c) { set.appendChild(c); });
      wrap.appendChild(table);
      wrap.appendChild(addRowButton);
      set.appendChild(wrap);
      set.appendChild(gridTools(path, rowsPath, columns, breakdown));
      set.appendChild(el("p", { className: "hint", "data-printed-notes": "" }));
      return set;
    }
    wrap.appendChild(table);
    wrap.appendChild(addRowButton);
    wrap.appendChild(gridTools(path, rowsPath, columns, breakdown));
    wrap.appendChild(el("p", { className: "hint", "data-printed-notes": "" }));
    return wrap;
  }

  function gridTools(path, rowsPath, columns, breakdown) {
    var pasteId = idFor(path) + "-paste";
    var fileId = idFor(path) + "-file";
    var area = el("textarea", { id: pasteId, rows: 3, className: "paste", spellcheck: "false",
      placeholder: "在 Excel 或 WPS 中选中各行（名称与各列数值），复制后粘贴到这里" });
    var file = el("input", { type: "file", id: fileId, accept: ".xlsx,.csv,text/csv" });
    var note = el("p", { className: "hint import-result", role: "status" });
    function send(fill) {
      var form = new FormData();
      form.append("csrf", csrf);
      form.append("kind", payload.kind || S.default_kind);
      form.append("target", path);
      form.append("payload", JSON.stringify(payload));
      fill(form);
      note.textContent = "正在导入…";
      return fetch("/console/tables/import", { method: "POST", credentials: "same-origin", body: form })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          var errors = answer.errors || [];
          importErrors = importErrors.filter(function (e) { return e.path.indexOf(path) !== 0; });
          if (!Array.isArray(answer.rows)) {
            var problem = answer.error;
            note.textContent = problem && problem.message ? problem.message : problem ? String(problem) : "无法导入。";
            return;
          }
          errors.forEach(function (e) {
            importErrors.push({ path: e.path, message: e.message });
          });
          if (answer.rows.length) {
            setAt(rowsPath, answer.rows);
            if (answer.total && !breakdown) {
              setAt(path + ".total", Object.assign({}, getAt(path + ".total") || { label: "合计" }, answer.total));
            }
            pendingFocus = errors.length ? null : rowsPath + "[0].label";
            changed(true);
          }
          var after = document.getElementById(idFor(path) + "-import-note");
          if (!after) return;
          after.replaceChildren(el("span", { text: "已导入" + answer.rows.length + "行" +
            (errors.length ? "，" + errors.length + "处单元格有问题（已标在对应的格子旁）：" : "。") }));
          errors.forEach(function (e) {
            after.appendChild(el("span", { className: "error-message", text: e.message }));
          });
          after.closest("details").open = true;
          if (errors.length) {
            var first = document.getElementById(idFor(errors[0].path));
            if (first) first.focus();
          }
        })
        .catch(function () { note.textContent = "导入失败，请稍后重试。"; });
    }
    note.id = idFor(path) + "-import-note";
    return details("import:" + path, "从电子表格导入各行", [
      el("div", { className: "f-field" }, [
        el("label", { for: pasteId, text: "粘贴单元格（制表符分隔）" }), area,
        button("导入粘贴的单元格", function () {
          send(function (form) { form.append("text", area.value); });
        }),
      ]),
      el("div", { className: "f-field" }, [
        el("label", { for: fileId, text: "或上传 .xlsx / .csv 文件" }), file,
        button("导入文件", function () {
          if (!file.files || !file.files[0]) { file.focus(); return; }
          send(function (form) { form.append("file", file.files[0]); });
        }),
      ]),
      note,
    ]);
  }

  // --- the whole form -----------------------------------------------------------------------

  function render() {
    var active = document.activeElement;
    var keepId = pendingFocus ? null : active && mount.contains(active) ? active.id : null;
    var kind = kindInfo();
    var root = defs[kind.model];
    var kindSelect = el("select", { id: "f-kind" }, S.kinds.map(function (k) {
      return el("option", { value: k.name, text: k.label, selected: k.name === kind.name });
    }));
    kindSelect.addEventListener("change", function () {
      payload.kind = kindSelect.value;
      changed(true);
    });
    var form = el("div", { className: "f-root", "data-path": "$" }, [
      el("div", { className: "f-field" }, [el("label", { for: "f-kind", text: root.properties.kind.title }), kindSelect]),
      el("div", { className: "f-errors" }),
    ]);
    var narrativeKeys = ["intro", "sections"];
    var basic = el("section", { className: "f-part", "aria-labelledby": "fp-basic" }, [el("h3", { id: "fp-basic", text: "基本信息" })]);
    objectFields("$", root, narrativeKeys.concat(["figures"])).forEach(function (c) { basic.appendChild(c); });
    form.appendChild(basic);
    if (root.properties.figures) {
      var figures = el("section", { className: "f-part", "aria-labelledby": "fp-figures" }, [el("h3", { id: "fp-figures", text: resolve(root.properties.figures).node.title || "数据" })]);
      if (getAt("$.figures") === undefined) setAt("$.figures", {});
      objectFields("$.figures", resolve(root.properties.figures).node).forEach(function (c) { figures.appendChild(c); });
      form.appendChild(figures);
    }
    if (root.properties.sections) {
      var narrative = el("section", { className: "f-part", "aria-labelledby": "fp-narrative" }, [el("h3", { id: "fp-narrative", text: "正文" })]);
      if (root.properties.intro) narrative.appendChild(field("$.intro", "intro", root.properties.intro, false));
      narrative.appendChild(el("h4", { text: root.properties.sections.title || "章节" }));
      narrative.appendChild(sectionsEditor("$.sections"));
      form.appendChild(narrative);
    }
    mount.querySelector(".f-body").replaceChildren(form);
    showLive();
    var focusId = pendingFocus ? idFor(pendingFocus) : keepId;
    var target = focusId ? document.getElementById(focusId) : null;
    if (!target && pendingFocus) {
      var holder = mount.querySelector('[data-item="' + pendingFocus + '"], [data-path="' + pendingFocus + '"]');
      target = holder ? holder.querySelector("input,select,textarea") || holder.querySelector("button") : null;
    }
    pendingFocus = null;
    if (target) target.focus();
  }

  function status(text) {
    var node = document.getElementById("draft-status");
    if (node && text !== "") node.textContent = text;
  }

  function saveDraft() {
    status("正在保存…");
    fetch("/console/drafts.json", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ id: draftInput.value || null, payload: payload, base: mount.getAttribute("data-base") || null }),
    })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (!res.ok) {
          status("未保存：" + ((res.body.errors || [])[0] || {}).message);
          return;
        }
        draftInput.value = res.body.id;
        if (window.history && history.replaceState) history.replaceState(null, "", "/console/new?draft=" + res.body.id);
        status("草稿已保存（" + new Date(res.body.saved_at * 1000).toLocaleTimeString("zh-CN", { hour12: false }) + "）");
      })
      .catch(function () { status("保存失败，请稍后重试。"); });
  }

  function fromBox() {
    try {
      var value = JSON.parse(box.value || "{}");
      if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object");
      payload = value;
      document.getElementById("json-status").textContent = "";
      return true;
    } catch (e) {
      document.getElementById("json-status").textContent = "JSON 有误（" + e.message + "），表单暂未更新。";
      return false;
    }
  }

  function start() {
    mount.hidden = false;
    mount.querySelector(".f-tools").appendChild(el("div", { className: "actions-bar" }, [
      button("保存草稿", saveDraft, { id: "save-draft", className: "secondary" }),
      el("span", { id: "draft-status", role: "status", className: "hint",
        text: draftInput.value ? "正在编辑已保存的草稿。" : "" }),
    ]));
    box.addEventListener("input", function () {
      window.clearTimeout(boxTimer);
      boxTimer = window.setTimeout(function () { if (fromBox()) { render(); scheduleLive(); } }, 500);
    });
    var from = mount.getAttribute("data-from-document");
    var ready = from
      ? fetch("/console/documents/" + encodeURIComponent(from) + "/next-year.json", { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
          .then(function (answer) {
            payload = answer.payload || {};
            previous = answer.previous || {};
            box.value = JSON.stringify(payload, null, 2);
            document.getElementById("json-status").textContent = "已从上一年度的文档生成草稿：正文沿用，数字已清空，旁边列出上年数值。";
          })
          .catch(function () { document.getElementById("json-status").textContent = "无法读取上一年度的文档。"; fromBox(); })
      : Promise.resolve(fromBox());
    ready.then(function () { render(); askLive(); });
  }

  fetch("/console/form/schema.json", { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (answer) { S = answer; defs = answer.schema.$defs; start(); })
    .catch(function () {});
})();
