/*
 * 开发区工作简报问答 — embeddable chat widget.
 *
 *   <script src="http://HOST:PORT/widget.js" data-title="简报问答" data-city="吕梁市"></script>
 *
 * Adds a floating bubble (bottom-right) that opens a small chat panel.  Answers
 * stream over POST {script origin}/api/ask/stream (Server-Sent Events read from
 * fetch's ReadableStream).  Everything lives in a shadow root; every piece of
 * answer/passage text is inserted with textContent (never innerHTML), and no
 * external asset is loaded.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) {
    var all = document.querySelectorAll('script[src*="widget.js"]');
    script = all[all.length - 1];
  }
  if (!script || script.getAttribute("data-bulletin-widget-loaded")) return;
  script.setAttribute("data-bulletin-widget-loaded", "1");

  var API = new URL(script.src, document.baseURI).origin;
  var TITLE = script.getAttribute("data-title") || "简报问答助手";
  var CITY = script.getAttribute("data-city") || "";
  var MAX_HISTORY = 6;
  var MAX_CHARS = parseInt(script.getAttribute("data-max-chars") || "500", 10);
  var uid = "bw" + Math.random().toString(36).slice(2, 8);

  var CSS = [
    ":host { all: initial; }",
    "*, *::before, *::after { box-sizing: border-box; }",
    ".root { font-family: system-ui, -apple-system, 'PingFang SC', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif;",
    "  font-size: 14px; line-height: 1.6; color: #1f2937; }",
    ".bubble { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;",
    "  border-radius: 50%; border: none; background: #1d4ed8; color: #fff; font-size: 15px; font-weight: 600;",
    "  cursor: pointer; box-shadow: 0 6px 18px rgba(0,0,0,.25); font-family: inherit; }",
    ".bubble:hover { background: #1e40af; }",
    ".bubble:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }",
    ".panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483001; width: 380px; max-width: calc(100vw - 24px);",
    "  height: 560px; max-height: calc(100vh - 110px); display: flex; flex-direction: column; background: #fff;",
    "  border: 1px solid #d1d5db; border-radius: 12px; box-shadow: 0 12px 32px rgba(0,0,0,.25); overflow: hidden; }",
    ".panel[hidden] { display: none; }",
    ".head { display: flex; align-items: center; gap: 8px; padding: 10px 12px; background: #1d4ed8; color: #fff; }",
    ".head h2 { flex: 1; margin: 0; font-size: 15px; font-weight: 600; color: #fff; }",
    ".head button { background: transparent; border: 1px solid rgba(255,255,255,.6); color: #fff; border-radius: 6px;",
    "  padding: 2px 8px; cursor: pointer; font: inherit; font-size: 13px; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px; background: #f8fafc; }",
    ".msg { margin: 0 0 10px; padding: 8px 10px; border-radius: 10px; max-width: 92%; word-break: break-word;",
    "  white-space: pre-wrap; }",
    ".msg.user { margin-left: auto; background: #dbeafe; }",
    ".msg.bot { background: #fff; border: 1px solid #e5e7eb; }",
    ".msg.refused { border-color: #f59e0b; background: #fffbeb; }",
    ".msg.error { border-color: #dc2626; background: #fef2f2; color: #991b1b; }",
    ".msg.pending .text::after { content: '▍'; animation: blink 1s steps(1) infinite; }",
    "@keyframes blink { 50% { opacity: 0; } }",
    ".hint { color: #6b7280; font-size: 13px; margin: 0 0 10px; }",
    ".feedback { margin-top: 6px; font-size: 12px; }",
    ".feedback button.wrong { border: 1px solid #d1d5db; background: #fff; color: #6b7280; border-radius: 6px;",
    "  padding: 0 6px; cursor: pointer; font: inherit; }",
    ".feedback-form { margin-top: 4px; display: flex; flex-direction: column; gap: 4px; }",
    ".feedback-form[hidden] { display: none; }",
    ".feedback-form textarea { font: inherit; border: 1px solid #d1d5db; border-radius: 6px; padding: 4px; }",
    ".feedback-status { color: #047857; margin-left: 6px; }",
    ".status { font-weight: 600; color: #b45309; display: block; margin-bottom: 4px; }",
    "button.cite { border: none; background: #e0e7ff; color: #1d4ed8; border-radius: 4px; padding: 0 3px; margin: 0 1px;",
    "  cursor: pointer; font: inherit; font-size: 12px; line-height: 1.4; vertical-align: baseline; }",
    "button.cite[aria-expanded='true'] { background: #1d4ed8; color: #fff; }",
    ".sources { margin-top: 6px; white-space: normal; }",
    ".sources-title { font-size: 12px; color: #6b7280; margin: 4px 0 2px; }",
    ".src-toggle { display: block; width: 100%; text-align: left; background: none; border: none; padding: 2px 0;",
    "  color: #1d4ed8; cursor: pointer; font: inherit; font-size: 12px; }",
    ".passage { margin: 4px 0 8px; padding: 6px 8px; border-left: 3px solid #1d4ed8; background: #f1f5f9;",
    "  font-size: 13px; white-space: pre-wrap; border-radius: 4px; }",
    ".passage[hidden] { display: none; }",
    ".passage .label { display: block; font-weight: 600; color: #374151; margin-bottom: 2px; }",
    ".passage mark { background: #fde68a; color: inherit; padding: 0 1px; }",
    ".refused .passage { border-left-color: #f59e0b; }",
    "form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #e5e7eb; background: #fff; }",
    "textarea { flex: 1; resize: none; height: 40px; max-height: 96px; padding: 8px; border: 1px solid #9ca3af;",
    "  border-radius: 8px; font: inherit; color: #111827; background: #fff; }",
    "form button { border: none; background: #1d4ed8; color: #fff; border-radius: 8px; padding: 0 14px; cursor: pointer;",
    "  font: inherit; font-weight: 600; }",
    "form button[disabled] { background: #93c5fd; cursor: default; }",
    ".sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }",
    "@media (max-width: 400px) {",
    "  .panel { right: 0; left: 0; bottom: 0; top: 0; width: 100vw; max-width: 100vw; height: 100%; max-height: 100%;",
    "    border-radius: 0; border: none; }",
    "  .bubble { right: 12px; bottom: 12px; }",
    "}"
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (Object.prototype.hasOwnProperty.call(attrs, k)) node.setAttribute(k, attrs[k]);
      }
    }
    if (text != null) node.textContent = text;
    return node;
  }

  // --- skeleton -------------------------------------------------------------
  // A custom element name (host-page rules for div/section do not match it) with every property reset
  // inline: page CSS cannot reach inside the shadow root, and inherits nothing through the host.
  var host = el("bulletin-chat-widget", { "data-bulletin-widget": "" });
  host.style.cssText = "all: initial !important; display: block !important; position: static !important;";
  var shadow = host.attachShadow({ mode: "open" });
  var style = el("style");
  style.textContent = CSS;
  shadow.appendChild(style);
  var root = el("div", { "class": "root" });
  shadow.appendChild(root);

  var bubble = el("button", { "class": "bubble", "type": "button", "aria-label": "打开" + TITLE,
    "aria-expanded": "false", "aria-controls": uid + "-panel", "title": TITLE }, "问答");
  var panel = el("div", { "class": "panel", "id": uid + "-panel", "role": "dialog", "aria-modal": "false",
    "aria-labelledby": uid + "-title" });
  panel.hidden = true;
  var head = el("div", { "class": "head" });
  var h2 = el("h2", { "id": uid + "-title" }, TITLE);
  var resetBtn = el("button", { "type": "button", "aria-label": "开始新对话" }, "新对话");
  var closeBtn = el("button", { "type": "button", "aria-label": "关闭问答窗口" }, "✕");
  head.appendChild(h2);
  head.appendChild(resetBtn);
  head.appendChild(closeBtn);
  var log = el("div", { "class": "log", "role": "log", "aria-live": "polite", "aria-relevant": "additions text",
    "tabindex": "0", "aria-label": "对话记录" });
  var form = el("form", { "aria-label": "提问" });
  var label = el("label", { "class": "sr", "for": uid + "-q" }, "输入问题");
  var input = el("textarea", { "id": uid + "-q", "rows": "1", "maxlength": String(MAX_CHARS),
    "placeholder": "输入问题，按 Enter 发送", "aria-label": "输入问题，按 Enter 发送，Shift+Enter 换行" });
  var sendBtn = el("button", { "type": "submit", "aria-label": "发送问题" }, "发送");
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendBtn);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(bubble);

  var history = [];
  var busy = false;
  var controller = null;

  function greet() {
    log.textContent = "";
    var hint = "您好！我根据开发区工作简报回答问题，答案中的 [n] 可展开查看原文段落。";
    if (CITY) hint += "（当前只检索：" + CITY + "）";
    log.appendChild(el("p", { "class": "hint" }, hint));
  }
  greet();

  // --- open / close ---------------------------------------------------------------
  function open() {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", "关闭" + TITLE);
    input.focus();
  }
  function close() {
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", "打开" + TITLE);
    bubble.focus();
  }
  bubble.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeBtn.addEventListener("click", close);
  panel.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { ev.preventDefault(); close(); }
  });
  resetBtn.addEventListener("click", function () {
    if (controller) controller.abort();
    history = [];
    greet();
    input.focus();
  });

  // --- rendering -------------------------------------------------------------------
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function figuresOf(text) {
    var re = /[-+]?\d+(?:\.\d+)?\s*(?:万亿|亿|万|千)?\s*(?:个百分点|亿千瓦时|万千瓦|亿元|万元|元|万吨|吨|GW|MW|%|个|家|名|户|项|条|台|亩|人|倍|大基地)/g;
    var out = [];
    var m;
    while ((m = re.exec(text || "")) !== null) out.push(m[0].replace(/\s+/g, ""));
    return out;
  }

  function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  // Append passage text to node, with the answer's figures wrapped in <mark> (text nodes only).
  function appendHighlighted(node, text, figures) {
    if (!figures.length) { node.appendChild(document.createTextNode(text)); return; }
    var parts = figures.map(function (f) { return f.split("").map(escapeRe).join("\\s*"); });
    var re = new RegExp(parts.join("|"), "g");
    var pos = 0;
    var m;
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) { re.lastIndex++; continue; }
      node.appendChild(document.createTextNode(text.slice(pos, m.index)));
      node.appendChild(el("mark", null, m[0]));
      pos = m.index + m[0].length;
    }
    node.appendChild(document.createTextNode(text.slice(pos)));
  }

  // 城市 · 文章 · 章节, without the 「城市：」 that starts most article titles.
  function placeLabel(c, withSection) {
    var title = c.title || "";
    if (c.city && (title.indexOf(c.city + "：") === 0 || title.indexOf(c.city + ":") === 0)) {
      title = title.slice(c.city.length + 1);
    }
    var parts = [c.city, title];
    if (withSection) parts.push(c.section);
    return parts.filter(Boolean).join(" · ") || c.source || "";
  }

  // The document's date as the chat shows it: a body-read date is a month or a year.
  function docDate(c) {
    var d = c.date || "";
    if (!d) return "";
    if (c.date_source === "mtime") return d + "（文件时间）";
    if (c.date_source === "text") {
      var y = d.slice(0, 4), m = parseInt(d.slice(5, 7), 10);
      return (d.slice(5) === "01-01" ? y + "年" : y + "年" + m + "月") + "（据正文）";
    }
    return d;
  }

  function passageBlock(c, figures, prefix) {
    var box = el("div", { "class": "passage", "id": prefix + "-" + c.n, "role": "region",
      "aria-label": "引用段落 " + c.n });
    box.hidden = true;
    var where = placeLabel(c, true);
    var when = [c.issue, docDate(c)].filter(Boolean).join(" · ");
    if (when) where += " · " + when;
    box.appendChild(el("span", { "class": "label" }, "[" + c.n + "] " + where));
    appendHighlighted(box, c.original || c.text || "", figures);
    return box;
  }

  function toggle(btns, box, force) {
    var show = force != null ? force : box.hidden;
    box.hidden = !show;
    btns.forEach(function (b) { b.setAttribute("aria-expanded", show ? "true" : "false"); });
    if (show) box.scrollIntoView({ block: "nearest" });
  }

  function renderAnswer(msg, data) {
    var textNode = msg.querySelector(".text");
    textNode.textContent = "";
    msg.classList.remove("pending");
    var prefix = uid + "-" + Math.random().toString(36).slice(2, 8);
    var list = data.refused ? (data.nearest || []) : (data.citations || []);
    var figures = data.refused ? [] : figuresOf(data.answer);
    var byN = {};
    var sources = el("div", { "class": "sources" });
    var buttons = {};
    list.forEach(function (c) {
      byN[c.n] = passageBlock(c, figures, prefix);
      buttons[c.n] = [];
    });

    if (data.refused) {
      msg.classList.add("refused");
      msg.setAttribute("data-state", "refused");
      textNode.appendChild(el("span", { "class": "status" }, "⚠ 未找到确切答案"));
      textNode.appendChild(document.createTextNode(String(data.answer || "").replace(/\[\d+\]/g, "")));
    } else {
      msg.setAttribute("data-state", "answered");
      var pieces = String(data.answer || "").split(/(\[\d+\])/);
      pieces.forEach(function (piece) {
        var m = /^\[(\d+)\]$/.exec(piece);
        if (m && byN[m[1]]) {
          var b = el("button", { "type": "button", "class": "cite", "aria-expanded": "false",
            "aria-controls": prefix + "-" + m[1], "aria-label": "展开引用段落 " + m[1] }, "[" + m[1] + "]");
          buttons[m[1]].push(b);
          textNode.appendChild(b);
        } else if (piece) {
          textNode.appendChild(document.createTextNode(piece));
        }
      });
      if (data.unsupported_figures && data.unsupported_figures.length) {
        textNode.appendChild(el("div", { "class": "hint" }, "⚠ 未能在引用段落中核实：" + data.unsupported_figures.join("、")));
      }
    }
    if (list.length) {
      sources.appendChild(el("div", { "class": "sources-title" }, data.refused ? "最接近的段落：" : "引用："));
      list.forEach(function (c) {
        var where = placeLabel(c, false);
        var t = el("button", { "type": "button", "class": "src-toggle", "aria-expanded": "false",
          "aria-controls": prefix + "-" + c.n }, "[" + c.n + "] " + where);
        buttons[c.n].push(t);
        sources.appendChild(t);
        sources.appendChild(byN[c.n]);
      });
      Object.keys(buttons).forEach(function (n) {
        buttons[n].forEach(function (b) {
          b.addEventListener("click", function () { toggle(buttons[n], byN[n]); });
        });
      });
      msg.appendChild(sources);
    }
    msg.appendChild(feedbackBlock(data));
    scrollDown();
  }

  // 「答案有误」: the same feedback file as the chat's button (POST /api/feedback), so the report can
  // become an eval case (python -m evals import-feedback).
  function feedbackBlock(data) {
    var asked = history.slice(-MAX_HISTORY);  // the turns before this question (it joins the history next)
    var box = el("div", { "class": "feedback" });
    var toggleBtn = el("button", { "type": "button", "class": "wrong", "aria-expanded": "false" }, "答案有误");
    var form = el("div", { "class": "feedback-form", "hidden": "" });
    var fid = uid + "-fb-" + Math.random().toString(36).slice(2, 8);
    var label = el("label", { "for": fid }, "正确答案（可选）：");
    var text = el("textarea", { "id": fid, "rows": "2", "maxlength": "2000" });
    var submit = el("button", { "type": "button", "class": "send-feedback" }, "提交");
    var status = el("span", { "class": "feedback-status", "role": "status" }, "");
    form.appendChild(label);
    form.appendChild(text);
    form.appendChild(submit);
    box.appendChild(toggleBtn);
    box.appendChild(form);
    box.appendChild(status);
    toggleBtn.addEventListener("click", function () {
      var show = form.hidden;
      form.hidden = !show;
      toggleBtn.setAttribute("aria-expanded", show ? "true" : "false");
      if (show) text.focus();
    });
    submit.addEventListener("click", function () {
      submit.disabled = true;
      status.textContent = "正在提交…";
      var payload = {
        question: data.question || "", history: asked, answer: String(data.answer || ""),
        refused: !!data.refused, correction: text.value.trim() || null,
        citations: (data.citations || []).map(function (c) { return { n: c.n, chunk_id: c.chunk_id, text: c.text }; })
      };
      fetch(API + "/api/feedback", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
        credentials: "omit", mode: "cors"
      }).then(function (res) {
        return res.json().catch(function () { return null; }).then(function (b) {
          if (res.ok) {
            box.setAttribute("data-state", "sent");
            form.hidden = true;
            toggleBtn.disabled = true;
            status.textContent = "已记录，谢谢指正。";
          } else {
            submit.disabled = false;
            status.textContent = errorText(res.status, b);
          }
        });
      }).catch(function () {
        submit.disabled = false;
        status.textContent = "提交失败：无法连接问答服务。";
      });
    });
    return box;
  }

  function showError(msg, text) {
    msg.classList.remove("pending");
    msg.classList.add("error");
    msg.setAttribute("data-state", "error");
    msg.setAttribute("role", "alert");
    msg.querySelector(".text").textContent = text;
    scrollDown();
  }

  // --- asking ----------------------------------------------------------------------
  function parseEvent(block) {
    var event = "message";
    var data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) event = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
    });
    if (!data.length) return null;
    try { return { event: event, data: JSON.parse(data.join("\n")) }; } catch (e) { return null; }
  }

  function errorText(status, body) {
    if (body && body.message) return body.message;
    if (status === 429) return "请求太频繁，请稍后再试。";
    if (status === 403) return "本网站未获授权使用该问答服务。";
    return "服务暂时不可用（HTTP " + status + "），请稍后再试。";
  }

  function ask(question) {
    busy = true;
    sendBtn.disabled = true;
    log.appendChild(el("p", { "class": "msg user" }, question));
    var msg = el("div", { "class": "msg bot pending", "data-state": "pending" });
    var textNode = el("span", { "class": "text" }, "");
    msg.appendChild(textNode);
    log.appendChild(msg);
    scrollDown();
    var streamed = "";
    var finished = false;
    controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    var body = { question: question, history: history.slice(-MAX_HISTORY) };
    if (CITY) body.city = CITY;

    function handle(ev) {
      if (ev.event === "segment") {
        streamed += ev.data.text || "";
        textNode.textContent = streamed;
        scrollDown();
      } else if (ev.event === "reset") {
        streamed = "";
        textNode.textContent = "";
      } else if (ev.event === "answer") {
        finished = true;
        renderAnswer(msg, ev.data);
        history.push(question);
      } else if (ev.event === "error") {
        finished = true;
        showError(msg, (ev.data && ev.data.message) || "回答出错，请稍后再试。");
      }
    }

    fetch(API + "/api/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify(body),
      signal: controller ? controller.signal : undefined,
      credentials: "omit",
      mode: "cors"
    }).then(function (res) {
      if (!res.ok) {
        return res.json().catch(function () { return null; }).then(function (b) {
          finished = true;
          var text = errorText(res.status, b);
          if (res.status === 429 && res.headers.get("Retry-After")) {
            text += "（" + res.headers.get("Retry-After") + " 秒后可重试）";
          }
          showError(msg, text);
        });
      }
      var reader = res.body.getReader();
      var decoder = new TextDecoder("utf-8");
      var buffer = "";
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) {
            buffer += decoder.decode();
          } else {
            buffer += decoder.decode(r.value, { stream: true });
          }
          buffer = buffer.replace(/\r\n/g, "\n");
          var idx;
          while ((idx = buffer.indexOf("\n\n")) >= 0) {
            var ev = parseEvent(buffer.slice(0, idx));
            buffer = buffer.slice(idx + 2);
            if (ev) handle(ev);
          }
          if (r.done) {
            if (buffer.trim()) { var last = parseEvent(buffer); if (last) handle(last); }
            if (!finished) showError(msg, "回答意外中断，请重试。");
            return null;
          }
          return pump();
        });
      }
      return pump();
    }).catch(function (err) {
      if (err && err.name === "AbortError") return;
      if (!finished) {
        showError(msg, "无法连接问答服务：网络不可用，或本网站未获授权使用该服务（请联系管理员）。");
      }
    }).then(function () {
      busy = false;
      sendBtn.disabled = false;
      controller = null;
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = input.value.trim();
    if (!q || busy) return;
    input.value = "";
    ask(q);
    input.focus();
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  function mount() { (document.body || document.documentElement).appendChild(host); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.BulletinWidget = { open: open, close: close, ask: function (q) { open(); ask(q); } };
})();
