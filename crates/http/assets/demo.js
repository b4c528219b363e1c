// countersign's demo shop (/demo): each button posts to the page's own back end
// (/demo/api/...), which calls the integration API and answers with the outcome and the
// calls it made; a pending session is followed through the back end's event stream.
// The WebAuthn ceremonies run here, in the browser, on options the back end fetched.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const $ = (id) => document.getElementById(id);
  if (!$("demo")) return;
  const statusBox = $("status");
  const FINAL = ["Accept", "Decline", "Timeout", "Failed"];
  let source = null;
  let pendingCode = null;
  let pendingToken = null;

  const user = () => $("user").value.trim();

  function setStatus(state, text) {
    statusBox.dataset.state = state;
    statusBox.textContent = text || state;
  }

  function signedIn(who, how) {
    $("signed-in").textContent = `Signed in as ${who} (${how})`;
    $("sign-out").hidden = false;
  }

  function showNumber(n) {
    const el = $("number");
    el.hidden = n === null || n === undefined;
    el.dataset.number = el.hidden ? "" : String(n);
    el.textContent = el.hidden ? "" : `Pick ${n} on your phone`;
  }

  function showQr(png, text) {
    $("qr").hidden = !png;
    $("qr-img").src = png ? "data:image/png;base64," + png : "";
    $("qr-text").textContent = text || "";
  }

  function pretty(v) {
    return typeof v === "string" ? v : JSON.stringify(v, null, 2);
  }

  function addCall(c) {
    const li = document.createElement("li");
    const head = document.createElement("p");
    const line = document.createElement("strong");
    line.textContent = `${c.method} ${c.path}`;
    const st = document.createElement("span");
    st.className = c.status < 300 ? "ok" : "bad";
    st.textContent = ` → ${c.status}`;
    head.append(line, st);
    li.append(head);
    for (const [label, body] of [["Request", c.request], ["Response", c.response]]) {
      if (body === undefined || body === null) continue;
      const d = document.createElement("details");
      d.open = label === "Response" || c.request === undefined;
      const s = document.createElement("summary");
      s.textContent = label;
      const pre = document.createElement("pre");
      pre.textContent = pretty(body);
      // Long answers scroll: focusable, so a keyboard can scroll them too.
      pre.tabIndex = 0;
      pre.setAttribute("aria-label", `${label} of ${c.method} ${c.path}`);
      d.append(s, pre);
      li.append(d);
    }
    $("calls").append(li);
  }

  function startAction(text) {
    if (source) source.close();
    source = null;
    $("calls").replaceChildren();
    showNumber(null);
    showQr(null);
    delete statusBox.dataset.request;
    setStatus("working", text || "Working…");
  }

  async function api(path, body) {
    const r = await fetch("/demo/api/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error ? `${j.error.code}: ${j.error.message}` : `HTTP ${r.status}`);
    for (const c of j.calls) addCall(c);
    return j;
  }

  function cddc() {
    return {
      userAgent: navigator.userAgent, language: navigator.language, platform: navigator.platform,
      screen: { width: screen.width, height: screen.height, colorDepth: screen.colorDepth },
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, timezoneOffset: new Date().getTimezoneOffset(),
      hardwareConcurrency: navigator.hardwareConcurrency, touchPoints: navigator.maxTouchPoints,
      cookiesEnabled: navigator.cookieEnabled,
    };
  }

  // The outcome of a finished call, or the start of following a pending session.
  function conclude(j, how, done, note) {
    const d = j.data || {};
    if (d.requestID) statusBox.dataset.request = d.requestID;
    if (j.outcome === "Pending" && d.requestID) {
      showNumber(d.numberToShow);
      setStatus("Pending", d.numberToShow != null
        ? `Waiting for the phone: pick ${d.numberToShow} there.` : "Waiting for the phone…");
      follow(d.requestID, how, done, note);
    } else {
      finish(j.outcome, how, d, done, note);
    }
  }

  function finish(outcome, how, session, done, note) {
    if (outcome === "Accept") {
      const who = session && session.userID ? session.userID : user();
      if (done) setStatus("Accept", done);
      else { setStatus("Accept", `Signed in as ${who} with ${how}.${note || ""}`); signedIn(who, how); }
    } else {
      const words = { Decline: "Declined.", Timeout: "Nobody answered in time.", Failed: "Failed." };
      setStatus(outcome, words[outcome] || `Refused: ${outcome}`);
    }
    showNumber(null);
  }

  function follow(id, how, done, note) {
    source = new EventSource(`/demo/api/sessions/${encodeURIComponent(id)}/events`);
    source.addEventListener("state", (e) => {
      const m = JSON.parse(e.data);
      addCall(m.call);
      const st = m.session.sessionStatus;
      if (FINAL.includes(st)) {
        source.close();
        showQr(null);
        finish(st, how, m.session, done, note);
      }
    });
    const stop = (e) => {
      source.close();
      if (e.data) { const m = JSON.parse(e.data); if (m.call) addCall(m.call); }
      if (statusBox.dataset.state === "Pending") setStatus("error", "The session could not be followed.");
    };
    source.addEventListener("failed", stop);
    source.addEventListener("end", stop);
  }

  const actions = {
    async activate() {
      const j = await api("activate", { user: user() });
      if (j.outcome !== "ok") return finish(j.outcome);
      showQr(j.data.qrPNG, j.data.qrPayload);
      setStatus("activation", `Scan the QR code with the app before ${j.data.expiresAt}; then try a push.`);
    },
    async "push-sync"() {
      setStatus("working", "Waiting for the phone (the call returns when it is answered)…");
      conclude(await api("push", { user: user(), mode: "sync" }), "a push");
    },
    async "push-async"() {
      conclude(await api("push", { user: user(), mode: "async" }), "a push");
    },
    async "code-email"() { await sendCode("email"); },
    async "code-sms"() { await sendCode("sms"); },
    async "code-check"() {
      if (!pendingCode) return setStatus("error", "Send a code first.");
      const j = await api("code/check", { user: user(), requestID: pendingCode.id, code: $("code").value });
      if (j.outcome === "Accept") pendingCode = null;
      finish(j.outcome, pendingCode ? "a code" : `a code by ${lastChannel}`);
    },
    async "totp-enrol"() {
      const j = await api("totp/enrol", { user: user() });
      if (j.outcome !== "ok") return finish(j.outcome);
      pendingToken = j.data.tokenID;
      showQr(j.data.qrPNG, j.data.otpauthURI);
      setStatus("enrolling", "Scan the QR code with your TOTP app, then confirm with its code.");
    },
    async "totp-confirm"() {
      if (!pendingToken) return setStatus("error", "Enrol a TOTP app first.");
      const j = await api("totp/confirm", { user: user(), tokenID: pendingToken, code: $("totp").value });
      if (j.outcome === "ok") { pendingToken = null; setStatus("confirmed", "The TOTP token is active."); }
      else finish(j.outcome);
    },
    async "totp-login"() {
      finish((await api("totp", { user: user(), code: $("totp").value, cddc: cddc() })).outcome, "a TOTP code");
    },
    async "passkey-register"() {
      const j = await api("passkey/register-options", { user: user() });
      if (j.outcome !== "ok") return finish(j.outcome);
      setStatus("working", "Your browser asks for the passkey…");
      const response = await window.countersign.createPasskey(j.data.options.publicKey);
      const r = await api("passkey/register", { user: user(), requestID: j.data.requestID, response });
      if (r.outcome === "registered") setStatus("registered", "The passkey is registered: sign in with it.");
      else finish(r.outcome);
    },
    async "passkey-login"() {
      const j = await api("passkey/login-options", { user: user() });
      if (j.outcome !== "ok") return finish(j.outcome);
      setStatus("working", "Your browser asks for the passkey…");
      const response = await window.countersign.getPasskey(j.data.options.publicKey);
      finish((await api("passkey/login", { user: user(), requestID: j.data.requestID, response, cddc: cddc() })).outcome, "a passkey");
    },
    async qr() {
      const j = await api("qr", {});
      if (j.outcome !== "Pending") return finish(j.outcome);
      showQr(j.data.qrPNG, j.data.qrPayload);
      statusBox.dataset.request = j.data.requestID;
      setStatus("Pending", "Scan the QR code with an activated app…");
      follow(j.data.requestID, "a QR login");
    },
    async password() {
      const j = await api("password", { user: user(), password: $("password").value, cddc: cddc() });
      const d = j.data || {};
      const why = d.riskReasons && d.riskReasons.length ? ` Risk rule: ${d.riskReasons.join(", ")}.` : "";
      conclude(j, d.riskResponseCode === 0 ? "a device the risk engine knows" : "a password", undefined, why);
    },
    async transfer() {
      const amount = Number($("amount").value.replace(",", "."));
      const beneficiary = $("beneficiary").value;
      const j = await api("transfer", { user: user(), amount, beneficiary, cddc: cddc() });
      conclude(j, "a transfer", `Transfer of ${amount.toFixed(2)} EUR to ${beneficiary} approved on the phone.`);
    },
  };

  let lastChannel = "e-mail";
  async function sendCode(channel) {
    lastChannel = channel === "sms" ? "SMS" : "e-mail";
    const j = await api("code", { user: user(), channel });
    if (j.outcome !== "Pending") return finish(j.outcome);
    pendingCode = { id: j.data.requestID };
    statusBox.dataset.request = j.data.requestID;
    setStatus("Pending", `A code was sent by ${lastChannel}: type it and sign in with it.`);
    $("code").focus();
  }

  for (const b of document.querySelectorAll("[data-action]")) {
    b.addEventListener("click", () => {
      const name = b.dataset.action;
      startAction();
      actions[name]().catch((e) => {
        let hint = "";
        if (e && e.name === "SecurityError" && /^[0-9.]+$|^\[/.test(location.hostname)) {
          hint = ` — browsers refuse passkeys on an IP address: open http://localhost:${location.port}/demo`;
        }
        setStatus("error", String(e) + hint);
      });
    });
  }
  $("sign-out").addEventListener("click", () => {
    $("signed-in").textContent = "Not signed in";
    $("sign-out").hidden = true;
    setStatus("idle", "Signed out.");
  });
});
