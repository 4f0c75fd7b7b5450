// Small enhancements shared by every page; each page works without them.
"use strict";

// <form data-confirm="Remove ann@example.com?">: ask before a destructive action.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// <button data-copy="#element" hidden>: copy that element's text (the API key shown once); hidden
// until this script shows it, since without the script it could not work.
document.querySelectorAll("[data-copy][hidden]").forEach((button) => {
  button.hidden = false;
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) {
    return;
  }
  const source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) {
    return;
  }
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    button.textContent = "Copied";
  });
});
