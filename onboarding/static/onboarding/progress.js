// The progress page follows onboarding live: it asks for the steps' state every second, marks
// them, and forwards to the company's login page once it is active. Without this script the page
// reloads itself instead (<noscript> refresh).
"use strict";

(() => {
  const box = document.getElementById("progress");
  if (!box || box.dataset.status !== "provisioning") {
    return;
  }

  function mark(step) {
    const item = box.querySelector(`[data-step="${step.key}"]`);
    if (item && item.dataset.state !== step.state) {
      item.dataset.state = step.state;
      item.querySelector(".state").textContent = ": " + step.state;
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((progress) => {
        progress.steps.forEach(mark);
        if (progress.status === "active") {
          box.dataset.status = "active";
          document.getElementById("progress-title").textContent = "Ready: taking you to your login page…";
          setTimeout(() => window.location.assign(progress.next), 600);
        } else if (progress.status === "failed") {
          window.location.reload(); // the page says what to do
        } else {
          setTimeout(poll, 1000);
        }
      })
      .catch(() => setTimeout(poll, 3000));
  }

  setTimeout(poll, 500);
})();
