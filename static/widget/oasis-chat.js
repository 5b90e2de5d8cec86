/*! Support Oasis chat widget. Plain JS, no dependencies, served by the Support Oasis host.
 *
 * Paste on any page:
 *   <script src="https://<oasis host>/static/widget/oasis-chat.js" data-workspace="<slug>"
 *           [data-identity-token="<signed token from your server>"] defer></script>
 *
 * Everything lives in a Shadow DOM (the page's CSS cannot reach it) and every text from the
 * server is inserted with textContent (inert: no HTML is ever parsed).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__oasisChatLoaded) return;
  window.__oasisChatLoaded = true;

  var slug = script.getAttribute("data-workspace") || "";
  var identityToken = script.getAttribute("data-identity-token") || "";
  var origin = new URL(script.src, window.location.href).origin;
  var api = origin + "/chat/api/" + encodeURIComponent(slug) + "/";
  var cssUrl = origin + "/static/widget/oasis-chat.css";
  var storeKey = "oasis-chat:" + slug;
  // The open widget always has one poll waiting server-side (a long-poll, at most WAIT_S): the
  // server answers the moment the thread changes (the AI's reply, a person's reply, a notice),
  // so nothing polls on a timer. After an error or a 429 it pauses before asking again.
  var WAIT_S = 25;
  var RETRY_MS = 1500;

  // ------------------------------------------------------------------ state
  var state = load();
  var lastId = 0;
  var version = ""; // the thread version last seen: an unchanged thread answers 204, cheaply
  var rendered = {}; // server message id -> element
  var pending = {}; // client id -> element (sent, not yet confirmed)
  var pollTimer = null;
  var pollBusy = false;
  var feedbackSent = {};

  function load() {
    try {
      return JSON.parse(window.localStorage.getItem(storeKey) || "{}") || {};
    } catch (e) {
      return {};
    }
  }
  function save() {
    try {
      window.localStorage.setItem(storeKey, JSON.stringify(state));
    } catch (e) { /* private mode: the conversation lasts until reload */ }
  }
  function tokenEmail(token) {
    try {
      var payload = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(payload)).email || "";
    } catch (e) {
      return "";
    }
  }
  // A different signed-in customer on this browser never inherits someone else's conversation.
  if (identityToken && state.token && state.email !== tokenEmail(identityToken)) {
    state = {};
    save();
  }

  function uid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // -------------------------------------------------------------------- DOM
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var host = el("div", { id: "oasis-chat-host" });
  var root = host.attachShadow({ mode: "open" });
  var link = el("link", { rel: "stylesheet", href: cssUrl });
  root.appendChild(link);

  var launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false", part: "launcher" }, "Chat with us");
  var panel = el("section", { class: "panel", role: "dialog", "aria-label": "Chat", hidden: "" });
  var header = el("header", { class: "header" });
  header.appendChild(el("span", { class: "title" }, "Chat with us"));
  var closeBtn = el("button", { class: "close", type: "button", "aria-label": "Close chat" }, "×");
  header.appendChild(closeBtn);
  var log = el("ol", { class: "log", "aria-live": "polite" });
  var notice = el("p", { class: "notice", role: "status", hidden: "" });
  var feedback = el("div", { class: "feedback", hidden: "" });
  feedback.appendChild(el("span", null, "Did this solve it?"));
  var yesBtn = el("button", { type: "button", class: "yes" }, "Yes");
  var noBtn = el("button", { type: "button", class: "no" }, "No");
  feedback.appendChild(yesBtn);
  feedback.appendChild(noBtn);
  var error = el("p", { class: "error", role: "alert", hidden: "" });

  var startForm = el("form", { class: "start", hidden: "" });
  startForm.appendChild(el("p", null, "Hi! Tell us who you are and we'll answer right here."));
  var nameInput = el("input", { name: "name", placeholder: "Your name", maxlength: "200", autocomplete: "name" });
  var emailInput = el("input", { name: "email", type: "email", placeholder: "Your email", required: "", maxlength: "254", autocomplete: "email" });
  startForm.appendChild(nameInput);
  startForm.appendChild(emailInput);
  startForm.appendChild(el("button", { type: "submit" }, "Start chat"));

  var chatForm = el("form", { class: "compose", hidden: "" });
  var textInput = el("textarea", { name: "body", rows: "2", placeholder: "Type your message…", maxlength: "4000", "aria-label": "Message" });
  chatForm.appendChild(textInput);
  chatForm.appendChild(el("button", { type: "submit", class: "send" }, "Send"));

  [header, log, notice, feedback, error, startForm, chatForm].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launcher);
  root.appendChild(panel);
  document.body.appendChild(host);

  function showError(text) {
    error.textContent = text || "";
    if (text) error.removeAttribute("hidden");
    else error.setAttribute("hidden", "");
  }

  // -------------------------------------------------------------------- HTTP
  function request(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.token) headers["X-Oasis-Session"] = state.token;
    return fetch(api + path, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit",
      cache: "no-store",
      mode: "cors",
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        return { status: resp.status, data: data, retryAfter: parseInt(resp.headers.get("Retry-After") || "0", 10) };
      });
    });
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // ------------------------------------------------------------------ render
  // `fromPoll`: only a poll's answer moves lastId. A posted message's id must not: a reply
  // that committed just before it (an older id) may not have reached this page yet, and the
  // next poll (after=lastId) would skip it for good.
  function renderMessage(m, fromPoll) {
    if (rendered[m.id]) {
      if (fromPoll && m.id > lastId) lastId = m.id;
      return;
    }
    var item = m.client_id && pending[m.client_id];
    if (item) {
      delete pending[m.client_id];
      item.classList.remove("sending");
    } else {
      item = el("li", { class: "msg" });
      item.appendChild(el("div", { class: "who" }, m.author_name));
      item.appendChild(el("div", { class: "body" }, m.body));
      // In id order: a late-arriving older message goes above the newer ones already shown.
      var later = null;
      Object.keys(rendered).forEach(function (id) {
        if (+id > m.id && (!later || +id < +later.getAttribute("data-id"))) later = rendered[id];
      });
      log.insertBefore(item, later);
    }
    item.className = "msg " + (m.author === "customer" ? "mine" : "theirs " + m.author);
    item.setAttribute("data-id", String(m.id));
    if (m.citations && m.citations.length && !item.querySelector(".sources")) {
      var sources = el("ul", { class: "sources" });
      m.citations.forEach(function (c) {
        var li = el("li", null, "[" + c.n + "] ");
        if (/^https?:\/\//i.test(c.url || "")) {
          var a = el("a", { href: c.url, target: "_blank", rel: "noopener noreferrer" }, c.title);
          li.appendChild(a);
        } else {
          li.appendChild(document.createTextNode(c.title));
        }
        sources.appendChild(li);
      });
      item.appendChild(sources);
    }
    rendered[m.id] = item;
    if (fromPoll && m.id > lastId) lastId = m.id;
    log.scrollTop = log.scrollHeight;
  }

  function renderState(s) {
    if (s && s.notice) {
      notice.textContent = s.notice;
      notice.removeAttribute("hidden");
    } else {
      notice.setAttribute("hidden", "");
    }
    var ask = s && s.ask_feedback_for;
    if (ask && !feedbackSent[ask]) {
      feedback.setAttribute("data-message", String(ask));
      feedback.removeAttribute("hidden");
    } else {
      feedback.setAttribute("hidden", "");
    }
  }

  function poll() {
    if (!state.token || pollBusy) return Promise.resolve();
    pollBusy = true;
    clearTimeout(pollTimer);
    var path = "messages/?after=" + lastId + "&v=" + encodeURIComponent(version) + "&wait=" + WAIT_S;
    var retryIn = 0;
    return request("GET", path)
      .then(function (r) {
        if (r.status === 401) {
          state = {};
          version = "";
          save();
          showStart();
          return;
        }
        if (r.status === 200) {
          (r.data.messages || []).forEach(function (m) { renderMessage(m, true); });
          renderState(r.data.state);
          version = r.data.version || "";
        } else if (r.status !== 204) {
          retryIn = r.retryAfter ? r.retryAfter * 1000 : RETRY_MS;
        }
      })
      .catch(function () { retryIn = RETRY_MS; /* offline: the next poll catches up (after=lastId) */ })
      .then(function () {
        pollBusy = false;
        if (!state.token) return;
        // The next long-poll at once (not returned: the chain of promises would grow forever).
        pollTimer = setTimeout(poll, retryIn);
      });
  }

  function showStart() {
    startForm.removeAttribute("hidden");
    chatForm.setAttribute("hidden", "");
  }

  function showChat() {
    startForm.setAttribute("hidden", "");
    chatForm.removeAttribute("hidden");
    poll();
  }

  // ---------------------------------------------------------------- actions
  function startSession(body) {
    showError("");
    return request("POST", "sessions/", body).then(function (r) {
      if (r.status === 201) {
        state = { token: r.data.session_token, email: r.data.session.email, open: true };
        save();
        showChat();
        return true;
      }
      showError((r.data && r.data.detail) || "Could not start the chat.");
      if (body.identity_token) showStart(); // a refused token: fall back to asking
      return false;
    });
  }

  // Post with the same client id until the server has it: a retry can never duplicate.
  function send(clientId, text, attempt) {
    return request("POST", "messages/", { client_id: clientId, body: text })
      .then(function (r) {
        if (r.status === 200 || r.status === 201) {
          renderMessage(r.data.message, false);
          poll(); // the waiting long-poll already wakes for it; this restarts one after an error
          return;
        }
        if (r.status === 429 || r.status >= 500) throw { retryAfter: r.retryAfter, status: r.status };
        if (pending[clientId]) pending[clientId].classList.add("failed");
        showError((r.data && r.data.detail) || "The message could not be sent.");
      })
      .catch(function (e) {
        if (attempt >= 6) {
          if (pending[clientId]) pending[clientId].classList.add("failed");
          showError("The message could not be sent; check your connection.");
          return;
        }
        var wait = e && e.retryAfter ? e.retryAfter * 1000 : 500 * Math.pow(2, attempt);
        return sleep(wait).then(function () { return send(clientId, text, attempt + 1); });
      });
  }

  function sendFeedback(solved) {
    var id = parseInt(feedback.getAttribute("data-message") || "0", 10);
    feedbackSent[id] = true;
    feedback.setAttribute("hidden", "");
    request("POST", "feedback/", { message_id: id, solved: solved }).then(function (r) {
      if (r.status === 200) {
        notice.textContent = solved ? "Thanks, glad it's solved!" : "Sorry about that: a person will take over.";
        notice.removeAttribute("hidden");
        setTimeout(poll, 300);
      } else {
        feedbackSent[id] = false;
        showError((r.data && r.data.detail) || "Could not record your answer.");
      }
    });
  }

  function open() {
    panel.removeAttribute("hidden");
    launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    save();
    if (state.token) {
      showChat();
    } else if (identityToken) {
      startSession({ identity_token: identityToken });
    } else {
      showStart();
    }
  }

  function close() {
    panel.setAttribute("hidden", "");
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    save();
  }

  launcher.addEventListener("click", function () {
    if (panel.hasAttribute("hidden")) open();
    else close();
  });
  closeBtn.addEventListener("click", close);
  startForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    startSession({ name: nameInput.value, email: emailInput.value });
  });
  chatForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = textInput.value.trim();
    if (!text || !state.token) return;
    textInput.value = "";
    showError("");
    var clientId = uid();
    var item = el("li", { class: "msg mine sending" });
    item.appendChild(el("div", { class: "who" }, "You"));
    item.appendChild(el("div", { class: "body" }, text));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    pending[clientId] = item;
    send(clientId, text, 0);
  });
  textInput.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      chatForm.requestSubmit();
    }
  });
  yesBtn.addEventListener("click", function () { sendFeedback(true); });
  noBtn.addEventListener("click", function () { sendFeedback(false); });

  if (state.open) open();
})();
