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
