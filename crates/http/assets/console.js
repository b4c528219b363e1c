// countersign console: the administrator's passkey step. The button asks the server for
// WebAuthn options (a registration of the first passkey, or an authentication), runs the
// browser's ceremony and sends the answer back; then the console opens. Every call
// carries the session's CSRF token in X-CSRF-Token.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("passkey");
  if (!button) return;
  const status = document.getElementById("passkey-status");
  const csrf = button.dataset.csrf;

  function fromB64u(s) {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  }
  function toB64u(buf) {
    let s = "";
    for (const byte of new Uint8Array(buf)) s += String.fromCharCode(byte);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  async function post(path, body) {
    const res = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : {};
    if (!res.ok) throw new Error((json.error && json.error.message) || `HTTP ${res.status}`);
    return json;
  }
  function say(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const j = await post("/console/passkey/options", {});
      const pk = j.options.publicKey;
      pk.challenge = fromB64u(pk.challenge);
      let response;
      if (j.mode === "register") {
        pk.user.id = fromB64u(pk.user.id);
        for (const c of pk.excludeCredentials || []) c.id = fromB64u(c.id);
        say("working", "Your browser asks you to create a passkey…");
        const cred = await navigator.credentials.create({ publicKey: pk });
        response = {
          id: cred.id, rawId: toB64u(cred.rawId), type: cred.type, extensions: cred.getClientExtensionResults(),
          response: {
            attestationObject: toB64u(cred.response.attestationObject),
            clientDataJSON: toB64u(cred.response.clientDataJSON),
            transports: cred.response.getTransports ? cred.response.getTransports() : [],
          },
        };
      } else {
        for (const c of pk.allowCredentials || []) c.id = fromB64u(c.id);
        say("working", "Your browser asks for your passkey…");
        const a = await navigator.credentials.get({ publicKey: pk });
        response = {
          id: a.id, rawId: toB64u(a.rawId), type: a.type, extensions: a.getClientExtensionResults(),
          response: {
            authenticatorData: toB64u(a.response.authenticatorData),
            clientDataJSON: toB64u(a.response.clientDataJSON),
            signature: toB64u(a.response.signature),
            userHandle: a.response.userHandle ? toB64u(a.response.userHandle) : null,
          },
        };
      }
      await post("/console/passkey/finish", response);
      say("signed-in", "Signed in.");
      window.location.assign("/console/tenants");
    } catch (e) {
      say("error", `That did not work: ${e.message}`);
      button.disabled = false;
    }
  });
});
