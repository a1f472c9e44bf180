// feedtool's pages, improved where JavaScript runs (issue 15). Every page works without it:
// the filter form is a plain GET form and the subscribe URL a plain text field. This file adds
//  - a live update of the episode list (#results) and the subscribe URLs (#subscribe) while the
//    filter form is edited: the page for the new filter is fetched from the same origin, its two
//    sections replace the ones on screen, and the address bar shows that page's URL;
//  - the copy buttons of the subscribe URLs (button.copy[data-copy="<input id>"]).
// Plain ES2020 for the strict Content-Security-Policy of the pages: no inline script, no eval,
// no style attributes (classes and the hidden attribute only), no framework, no third party.
"use strict";

(() => {
  /** Milliseconds of quiet after the last keystroke before the page for the filter is fetched. */
  const DEBOUNCE_MS = 250;
  /** How long "Copied" stays on screen. */
  const STATUS_MS = 4000;
  /** The sections of /shows/<id> that depend on the filter. */
  const LIVE_SECTIONS = ["results", "subscribe"];

  /** The form's query: its non-empty values in document order, as the server reads them. */
  function formQuery(form) {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      // A File never comes from these forms; an empty control means "no such filter".
      if (typeof value === "string" && value.trim() !== "") {
        query.append(name, value);
      }
    }
    return query.toString();
  }

  /** The page URL of the form's filter, or null where the form does not point at this origin. */
  function formUrl(form) {
    const url = new URL(form.getAttribute("action") || window.location.pathname, window.location.href);
    if (url.origin !== window.location.origin) {
      return null;
    }
    url.search = formQuery(form);
    url.hash = "";
    return url;
  }

  /** A status line (role=status) after ``anchor``, made on first use. */
  function statusAfter(anchor, className) {
    let status = anchor.nextElementSibling;
    if (!status || !status.classList.contains(className)) {
      status = document.createElement("span");
      status.className = className;
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      anchor.after(status);
    }
    return status;
  }

  /** Show the copy buttons inside ``root`` (the server may send them hidden for pages without JS). */
  function enhance(root) {
    for (const button of root.querySelectorAll("button.copy[data-copy]")) {
      button.hidden = false;
    }
  }

  /** Copy the value of the input a copy button names, and say whether that worked. */
  async function copy(button) {
    const input = document.getElementById(button.dataset.copy);
    if (!input) {
      return;
    }
    let copied = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(input.value);
        copied = true;
      } catch {
        copied = false; // refused (no permission, no focus): try the old way below
      }
    }
    if (!copied) {
      input.focus();
      input.select();
      try {
        copied = document.execCommand("copy");
      } catch {
        copied = false;
      }
    }
    const status = statusAfter(button, "copy-status");
    status.textContent = copied ? "Copied" : "Select the address and copy it";
    window.clearTimeout(Number(status.dataset.timer || 0));
    status.dataset.timer = String(window.setTimeout(() => { status.textContent = ""; }, STATUS_MS));
  }

  /** Live update of the filter's results while the form of /shows/<id> is edited. */
  function liveForm(form) {
    const message = document.createElement("p");
    message.className = "live-status";
    message.setAttribute("role", "status");
    message.setAttribute("aria-live", "polite");
    form.append(message);

    let timer = 0;
    let pending = null; // the AbortController of the request in flight
    let shown = formUrl(form)?.href ?? null; // the filter on screen

    async function update() {
      const url = formUrl(form);
      if (url === null) {
        return;
      }
      if (url.href === shown) {
        // Back to the filter on screen (an invalid value undone): nothing to fetch, nothing wrong.
        pending?.abort();
        message.textContent = "";
        message.classList.remove("error");
        return;
      }
      pending?.abort(); // a newer filter makes the older answer stale
      const controller = new AbortController();
      pending = controller;
      for (const id of LIVE_SECTIONS) {
        document.getElementById(id)?.setAttribute("aria-busy", "true");
      }
      try {
        const response = await fetch(url, {
          headers: { Accept: "text/html" },
          credentials: "same-origin",
          signal: controller.signal,
        });
        const text = await response.text();
        if (controller.signal.aborted) {
          return;
        }
        const html = (response.headers.get("Content-Type") || "").startsWith("text/html");
        const page = html ? new DOMParser().parseFromString(text, "text/html") : null;
        // The server's message about the filter of the page as loaded no longer applies.
        document.getElementById("error")?.remove();
        if (!response.ok) {
          // A half-typed filter is often invalid (until before since, a bad tag): say why (the
          // page's #error, else the first line of a plain-text answer) and keep the last good list.
          const reason = page ? page.getElementById("error")?.textContent : text.split("\n", 1)[0];
          message.textContent = (reason || `The server answered ${response.status}`).trim();
          message.classList.add("error");
          return;
        }
        if (page === null) {
          return;
        }
        for (const id of LIVE_SECTIONS) {
          const mine = document.getElementById(id);
          const theirs = page.getElementById(id);
          if (mine && theirs) {
            // Children, not the element: a live region must stay in the document to be announced.
            // (A copy first: moving a node out of the parsed page shortens its live childNodes.)
            mine.replaceChildren(...Array.from(theirs.childNodes));
            enhance(mine);
          }
        }
        message.textContent = "";
        message.classList.remove("error");
        // The server may have canonicalised the URL (a redirect): show the page it answered.
        const final = response.url && new URL(response.url).origin === window.location.origin ? response.url : url.href;
        shown = url.href;
        window.history.replaceState(window.history.state, "", final);
      } catch (error) {
        if (error.name !== "AbortError") {
          message.textContent = "Could not update the list: submit the form to apply the filter.";
          message.classList.add("error");
        }
      } finally {
        if (pending === controller) {
          pending = null;
          for (const id of LIVE_SECTIONS) {
            document.getElementById(id)?.removeAttribute("aria-busy");
          }
        }
      }
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, DEBOUNCE_MS);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    form.addEventListener("submit", (event) => {
      // Without JS the browser sends every control, empty ones too; send only the filter.
      const url = formUrl(form);
      if (url !== null) {
        event.preventDefault();
        window.clearTimeout(timer);
        pending?.abort();
        window.location.assign(url.href);
      }
    });
  }

  function start() {
    document.documentElement.classList.add("js");
    enhance(document);
    document.addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest("button.copy[data-copy]") : null;
      if (button) {
        event.preventDefault();
        copy(button);
      }
    });
    const form = document.getElementById("filter");
    if (form instanceof HTMLFormElement && document.getElementById("results")) {
      liveForm(form);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
