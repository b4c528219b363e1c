// countersign pages: live status without polling. An element with data-follow="<url>"
// listens to that server-sent event stream and shows each state it announces; at a
// final state the stream ends and the element named by data-final-hide is hidden.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-follow]")) {
    const source = new EventSource(el.dataset.follow);
    source.addEventListener("progress", (e) => {
      const p = JSON.parse(e.data);
      el.textContent = p.text;
      el.dataset.state = p.progress;
      if (p.final) {
        source.close();
        const hide = el.dataset.finalHide && document.getElementById(el.dataset.finalHide);
        if (hide) hide.hidden = true;
      }
    });
    source.addEventListener("end", () => source.close());
  }
});

// A pending login: data-follow-session="<url>" listens to a session's event stream
// (events `state`, the session as the API returns it). Accepted, the form named by
// data-final-submit is sent; ended otherwise, the element says how.
const SESSION_TEXT = {
  Accept: "Approved: signing you in…",
  Decline: "Declined on your phone.",
  Timeout: "No answer in time: start again.",
  Failed: "The sign-in failed: start again.",
};
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-follow-session]")) {
    const source = new EventSource(el.dataset.followSession);
    source.addEventListener("state", (e) => {
      const s = JSON.parse(e.data);
      if (s.sessionStatus === "Pending") return;
      source.close();
      el.dataset.state = s.sessionStatus;
      el.textContent = SESSION_TEXT[s.sessionStatus] ?? s.sessionStatus;
      const form = el.dataset.finalSubmit && document.getElementById(el.dataset.finalSubmit);
      if (s.sessionStatus === "Accept" && form) form.submit();
    });
    source.addEventListener("end", () => source.close());
  }
});

// Passkeys (WebAuthn). The server's options carry binary fields as base64url; the
// browser's answers go back the same way. Shared with the demo shop (demo.js).
const countersign = (window.countersign = {
  fromB64u(s) {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  },
  toB64u(buf) {
    let s = "";
    for (const byte of new Uint8Array(buf)) s += String.fromCharCode(byte);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
  /** navigator.credentials.create with the server's `publicKey` options; the answer as JSON. */
  async createPasskey(pk) {
    const { fromB64u, toB64u } = countersign;
    pk.challenge = fromB64u(pk.challenge);
    pk.user.id = fromB64u(pk.user.id);
    for (const c of pk.excludeCredentials || []) c.id = fromB64u(c.id);
    const cred = await navigator.credentials.create({ publicKey: pk });
    return {
      id: cred.id, rawId: toB64u(cred.rawId), type: cred.type, extensions: cred.getClientExtensionResults(),
      response: {
        attestationObject: toB64u(cred.response.attestationObject),
        clientDataJSON: toB64u(cred.response.clientDataJSON),
        transports: cred.response.getTransports ? cred.response.getTransports() : [],
      },
    };
  },
  /** navigator.credentials.get with the server's `publicKey` options; the answer as JSON. */
  async getPasskey(pk) {
    const { fromB64u, toB64u } = countersign;
    pk.challenge = fromB64u(pk.challenge);
    for (const c of pk.allowCredentials || []) c.id = fromB64u(c.id);
    const a = await navigator.credentials.get({ publicKey: pk });
    return {
      id: a.id, rawId: toB64u(a.rawId), type: a.type, extensions: a.getClientExtensionResults(),
      response: {
        authenticatorData: toB64u(a.response.authenticatorData),
        clientDataJSON: toB64u(a.response.clientDataJSON),
        signature: toB64u(a.response.signature),
        userHandle: a.response.userHandle ? toB64u(a.response.userHandle) : null,
      },
    };
  },
});

// The self-service passkey buttons: data-passkey-register (signed in; data-csrf) and
// data-passkey-sign-in (the user ID from #user). Errors show in the element named by
// data-status.
async function postJson(url, body, csrf) {
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const r = await fetch(url, { method: "POST", headers, body: JSON.stringify(body ?? {}), credentials: "same-origin" });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.error?.message ?? `the server answered ${r.status}`);
  return j;
}
document.addEventListener("DOMContentLoaded", () => {
  const say = (btn, text, state) => {
    const out = document.getElementById(btn.dataset.status);
    if (out) { out.textContent = text; out.dataset.state = state; }
  };
  for (const btn of document.querySelectorAll("[data-passkey-register]")) {
    btn.addEventListener("click", async () => {
      const base = btn.dataset.passkeyRegister;
      try {
        say(btn, "Your browser asks for the new passkey…", "working");
        const o = await postJson(`${base}/options`, {}, btn.dataset.csrf);
        const response = await countersign.createPasskey(o.registrationRequest.publicKey);
        const name = (navigator.userAgentData?.platform || navigator.platform || "browser").slice(0, 60);
        await postJson(base, { requestID: o.requestID, fidoAuthenticator: { registrationResponse: response }, name }, btn.dataset.csrf);
        say(btn, "The passkey is added.", "registered");
        location.reload();
      } catch (e) {
        say(btn, `No passkey was added: ${e.message}`, "error");
      }
    });
  }
  for (const btn of document.querySelectorAll("[data-passkey-sign-in]")) {
    btn.addEventListener("click", async () => {
      const base = btn.dataset.passkeySignIn;
      const user = document.getElementById("user").value.trim();
      if (!user) return say(btn, "Type your user ID first.", "error");
      try {
        say(btn, "Your browser asks for your passkey…", "working");
        const o = await postJson(`${base}/options`, { user });
        const response = await countersign.getPasskey(o.authenticationRequest.publicKey);
        const done = await postJson(base, { user, requestID: o.requestID, response });
        location.assign(done.next);
      } catch (e) {
        say(btn, `Not signed in: ${e.message}`, "error");
      }
    });
  }
});
