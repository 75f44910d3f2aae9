// Progressive enhancement only: every form works without this file.
"use strict";
// Registering a file: its SHA-256 computed here (Web Crypto); the file itself is never sent.
for (const input of document.querySelectorAll("input[type=file][data-sha256-target]")) {
  const target = document.getElementById(input.dataset.sha256Target);
  const status = document.getElementById(input.dataset.sha256Status);
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file || !target) return;
    if (!window.crypto || !crypto.subtle) {
      if (status) status.textContent = "This browser cannot compute SHA-256 here; paste the hash instead.";
      return;
    }
    const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
    target.value = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    if (status) status.textContent = "SHA-256 of " + file.name + " computed in your browser; the file is not uploaded.";
  });
}
// Copy buttons next to snippets (hidden without JavaScript: the text can be selected instead).
for (const button of document.querySelectorAll("button[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(source.textContent);
    button.textContent = "Copied";
  });
}
// A check can take seconds (every host form of the site is fetched): say it is under way.
for (const form of document.querySelectorAll("form[role=search]")) {
  form.addEventListener("submit", () => {
    const button = form.querySelector("button[type=submit]");
    if (button) {
      button.textContent = "Checking…";
      button.setAttribute("aria-disabled", "true");
    }
    form.setAttribute("aria-busy", "true");
  });
}
