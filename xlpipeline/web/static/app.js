// The page's own script: confirmations, no double submits, drag-and-drop, job progress.
// Served by the package itself (no CDN); text from the server is set with textContent only.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  if (form.dataset.sent) {          // a double click sends the form once
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  for (const button of form.querySelectorAll("button[type=submit]")) {
    button.disabled = true;
    button.dataset.label = button.textContent;
    button.textContent = "请稍候…";
  }
});

// Back-navigation may show a page from the cache with its buttons disabled: enable them again.
window.addEventListener("pageshow", () => {
  for (const form of document.querySelectorAll("form[data-sent]")) {
    delete form.dataset.sent;
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.disabled = false;
      if (button.dataset.label) button.textContent = button.dataset.label;
    }
  }
});

for (const zone of document.querySelectorAll("form.drop")) {
  const input = zone.querySelector("input[type=file]");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files.length) input.files = event.dataTransfer.files;
  });
}

const job = document.querySelector("[data-job]");
if (job && job.querySelector("progress")) {
  const bar = job.querySelector("progress");
  const label = job.querySelector(".job-label");
  const count = job.querySelector(".job-count");
  const poll = async () => {
    let state;
    try {
      const answer = await fetch("/api/jobs/" + encodeURIComponent(job.dataset.job), {credentials: "same-origin"});
      state = await answer.json();
    } catch (error) {
      label.textContent = "与本机服务的连接中断，正在重试…";
      setTimeout(poll, 2000);
      return;
    }
    if (state.state !== "running") {
      window.location.reload();
      return;
    }
    label.textContent = state.label;
    if (state.total) {
      bar.max = state.total;
      bar.value = state.done;
      count.textContent = state.done + " / " + state.total;
    } else {
      bar.removeAttribute("value");
      count.textContent = "";
    }
    setTimeout(poll, 400);
  };
  poll();
}
