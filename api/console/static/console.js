// modemgate console: the little the pages do without a reload. Plain JavaScript, no library.
// - [data-poll]: refresh the element from its URL every data-every ms (skipped while the user
//   is typing or has a panel open in it; stops once [data-status] is one of data-until).
// - textarea[data-estimate]: live encoding / segment counter from the server's codec.
// - [data-insert] / [data-insert-from]: put a token or a link into a textarea at the cursor.
// - form[data-confirm]: ask before a destructive action.
// - form[data-preview]: POST the text being edited ([data-preview-text], the last one typed
//   in), the form's csrf and [data-preview-input] fields to that URL as one types, and show
//   the answer (the text as the chosen contact would get it) in data-preview-target.
(function () {
  "use strict";

  function busy(el) {
    var active = document.activeElement;
    return (active && active !== document.body && el.contains(active)) || el.querySelector("details[open]");
  }

  function poll(el) {
    var every = parseInt(el.getAttribute("data-every") || "2000", 10);
    var until = (el.getAttribute("data-until") || "").split(" ").filter(Boolean);
    var select = el.getAttribute("data-select");
    var timer = setInterval(function () {
      if (document.hidden || busy(el)) return;
      fetch(el.getAttribute("data-poll"), { credentials: "same-origin" })
        .then(function (r) {
          if (r.redirected || !r.ok) { clearInterval(timer); return null; }
          return r.text();
        })
        .then(function (html) {
          if (html === null) return;
          if (select) {
            var found = new DOMParser().parseFromString(html, "text/html").querySelector(select);
            if (!found) return;
            html = found.outerHTML;
          }
          el.innerHTML = html;
          var status = el.querySelector("[data-status]");
          if (status && until.indexOf(status.getAttribute("data-status")) >= 0) clearInterval(timer);
        })
        .catch(function () { /* the next tick tries again */ });
    }, every);
  }

  function estimate(area) {
    var target = document.querySelector(area.getAttribute("data-target"));
    var pending = null;
    function update() {
      var url = area.getAttribute("data-estimate") + "?text=" + encodeURIComponent(area.value);
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && target) target.innerHTML = html; });
    }
    area.addEventListener("input", function () {
      clearTimeout(pending);
      pending = setTimeout(update, 150);
    });
    if (area.value) update();
  }

  function livePreview(form) {
    var target = document.querySelector(form.getAttribute("data-preview-target"));
    var source = form.querySelector("[data-preview-text]");
    var pending = null;
    function update() {
      var body = new FormData();
      body.append("csrf", form.elements.csrf.value);
      body.append("template", source ? source.value : "");
      form.querySelectorAll("[data-preview-input]").forEach(function (el) { body.append(el.name, el.value); });
      fetch(form.getAttribute("data-preview"), { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.text().then(function (html) { return { ok: r.ok, html: html }; }); })
        .then(function (answer) {
          if (!target) return;
          if (answer.ok) { target.innerHTML = answer.html; return; }
          // An error page: show its message only.
          var found = new DOMParser().parseFromString(answer.html, "text/html").querySelector("#error-message");
          target.innerHTML = "";
          var p = document.createElement("p");
          p.className = "err";
          p.textContent = found ? found.textContent : "No preview.";
          target.appendChild(p);
        })
        .catch(function () { /* the next keystroke tries again */ });
    }
    function later(e) {
      if (e.target.hasAttribute("data-preview-text")) source = e.target;
      else if (!e.target.hasAttribute("data-preview-input")) return;
      clearTimeout(pending);
      pending = setTimeout(update, 300);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }

  function insertAt(area, text) {
    var start = area.selectionStart || area.value.length;
    var end = area.selectionEnd || start;
    var before = area.value.slice(0, start);
    var gap = before && !/\s$/.test(before) ? " " : "";
    area.value = before + gap + text + area.value.slice(end);
    area.focus();
    area.selectionStart = area.selectionEnd = start + gap.length + text.length;
    area.dispatchEvent(new Event("input"));
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-insert], [data-insert-from]");
    if (!button) return;
    var area = document.querySelector(button.getAttribute("data-into"));
    var text = button.getAttribute("data-insert");
    if (button.hasAttribute("data-insert-from")) {
      var source = document.querySelector(button.getAttribute("data-insert-from"));
      text = source && source.value.trim();
    }
    if (area && text) insertAt(area, text);
  });

  document.addEventListener("submit", function (e) {
    var message = e.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) e.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("textarea[data-estimate]").forEach(estimate);
    document.querySelectorAll("form[data-preview]").forEach(livePreview);
  });
})();
