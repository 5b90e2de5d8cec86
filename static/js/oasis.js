// Small progressive enhancements for the staff pages; everything works without this file.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // On a narrow screen the inbox filters start folded, so the tickets come first.
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.matchMedia("(max-width: 820px)").matches) return;
    document.querySelectorAll("details[data-collapse-narrow]").forEach(function (box) { box.open = false; });
  });

  // Selects marked data-autosubmit submit their form on change (the button is the no-JS path).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit();
    }
  });

  // A composer form is cleared once its message is stored (2xx), never after a 400.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    var xhr = event.detail.xhr;
    if (elt instanceof HTMLFormElement && elt.hasAttribute("data-reset-on-success") && xhr && xhr.status < 300) {
      elt.reset();
    }
  });

  // ---- Copilot: "Insert into reply" fills the composer and remembers which draft it came from,
  // so sending labels the draft "edited" or "sent_unchanged". Without JS the link's href does it.
  function insertDraft(link) {
    var raw = document.getElementById("copilot-draft-raw");
    var form = document.getElementById("reply-form");
    if (!raw || !form) return false;
    var textarea = form.querySelector("textarea");
    var run = form.querySelector("input[name$='copilot_run']");
    var tab = document.getElementById("tab-reply");
    if (tab) tab.checked = true;
    textarea.value = raw.content.textContent.trim();
    if (run) run.value = link.getAttribute("data-run");
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    textarea.scrollIntoView({ block: "center", behavior: "smooth" });
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("[data-copilot-insert]") : null;
    if (link && insertDraft(link)) {
      event.preventDefault();
    }
    var opener = event.target instanceof Element ? event.target.closest("[data-shortcuts-open]") : null;
    if (opener) {
      toggleHelp();
    }
  });

  // A composer emptied by hand forgets its draft: what is sent then is a plain human reply.
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLTextAreaElement && target.form && target.form.id === "reply-form" && !target.value.trim()) {
      var run = target.form.querySelector("input[name$='copilot_run']");
      if (run) run.value = "";
    }
  });

  // ---- Keyboard shortcuts: skipped while typing, except Ctrl/Cmd+Enter to send from a composer.
  function isTyping(target) {
    if (!(target instanceof Element)) return false;
    return target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']") !== null;
  }

  function toggleHelp() {
    var dialog = document.getElementById("shortcuts-help");
    if (!dialog) return;
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  function moveSelection(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-ticket-row]"));
    if (!rows.length) return;
    var current = rows.findIndex(function (row) { return row.classList.contains("is-selected"); });
    var next = current === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, current + step));
    rows.forEach(function (row) { row.classList.remove("is-selected"); row.removeAttribute("aria-selected"); });
    rows[next].classList.add("is-selected");
    rows[next].setAttribute("aria-selected", "true");
    var link = rows[next].querySelector("a");
    if (link) link.focus();
  }

  function sendReply() {
    var form = document.getElementById("reply-form");
    var textarea = form ? form.querySelector("textarea") : null;
    if (!form || !textarea) return;
    if (!textarea.value.trim()) {
      textarea.focus();
      return;
    }
    form.requestSubmit();
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target instanceof HTMLTextAreaElement && target.form) {
      event.preventDefault();
      target.form.requestSubmit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(target)) return;
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && dialog.open && event.key !== "?") return;
    switch (event.key) {
      case "?":
        toggleHelp();
        break;
      case "j":
        moveSelection(1);
        break;
      case "k":
        moveSelection(-1);
        break;
      case "o": {
        var selected = document.querySelector("[data-ticket-row].is-selected a");
        if (selected) selected.click();
        break;
      }
      case "i": {
        var insert = document.querySelector("[data-copilot-insert]");
        if (insert) insert.click();
        break;
      }
      case "s":
        sendReply();
        break;
      case "r": {
        var box = document.querySelector("#reply-form textarea");
        if (box) box.focus();
        break;
      }
      default:
        return;
    }
    event.preventDefault();
  });
})();
