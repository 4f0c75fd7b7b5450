// Sign-up: suggest an address from the company name and say whether it is free, as you type. The
// server decides (the same checks as the API's sign-up); without this script the form works alike.
"use strict";

(() => {
  const form = document.getElementById("signup-form");
  if (!form) {
    return;
  }
  const name = form.querySelector("#id_name");
  const slug = form.querySelector("#id_slug");
  const status = document.getElementById("slug-status");
  const preview = document.getElementById("slug-preview");
  let typedByPerson = slug.value !== "";
  let timer = null;
  let latest = 0;

  function show(answer) {
    status.textContent = answer.detail;
    status.className = "field-status " + (answer.available ? "ok" : "taken");
    preview.textContent = answer.slug || "your-name";
  }

  function ask(params, fill) {
    const asked = ++latest;
    fetch(form.dataset.slugCheck + "?" + new URLSearchParams(params), { headers: { Accept: "application/json" } })
      .then((response) => response.json())
      .then((answer) => {
        if (asked !== latest) {
          return; // a later keystroke asked again
        }
        if (fill && !typedByPerson) {
          slug.value = answer.slug;
        }
        show(answer);
      })
      .catch(() => {
        status.textContent = "";
      });
  }

  function later(action) {
    clearTimeout(timer);
    timer = setTimeout(action, 250);
  }

  name.addEventListener("input", () => {
    if (!typedByPerson) {
      later(() => ask({ name: name.value }, true));
    }
  });
  slug.addEventListener("input", () => {
    typedByPerson = slug.value !== "";
    later(() => (typedByPerson ? ask({ slug: slug.value }, false) : ask({ name: name.value }, true)));
  });
  if (slug.value) {
    preview.textContent = slug.value;
  }

  // A second click while the first submission is on its way sends nothing more (the server would
  // answer it with the same company anyway: the form carries an idempotency key).
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "yes";
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) {
      delete form.dataset.sent; // back from the next page: the form may be sent again
    }
  });
})();
