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
