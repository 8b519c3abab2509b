// refdesk desk, Letters page: previews and runs without leaving the page. Every answer is
// put in the page as text or as elements the desk rendered (escaped by its templates).
"use strict";

(function () {
  if (!window.desk) { return; }
  const desk = window.desk;

  async function post(form, accept) {
    const response = await desk.fetch(form.action, {
      method: "POST", body: new URLSearchParams(new FormData(form)),
      headers: { Accept: accept || "application/json" },
    });
    let answer = null;
    try { answer = await response.json(); } catch (e) { answer = null; }
    if (!answer) { throw new Error("The desk answered " + response.status + "; reload the page."); }
    return answer;
  }

  function problem(lines) {
    const box = document.createElement("div");
    box.className = "desk-problem";
    box.setAttribute("role", "alert");
    lines.filter(Boolean).forEach(function (line) {
      const p = document.createElement("p");
      p.textContent = line;
      box.appendChild(p);
    });
    return box;
  }

  function busy(section, on) {
    section.querySelectorAll(".lt-actions button").forEach(function (b) { b.disabled = on; });
  }

  async function preview(form, section) {
    const area = section.querySelector(".lt-picture");
    area.replaceChildren(document.createTextNode("Drawing the letter…"));
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const answer = await post(form);
      if (!answer.ok) {
        area.replaceChildren(problem([answer.message].concat(answer.details || [])));
        return;
      }
      const figure = document.createElement("figure");
      figure.className = "lt-figure";
      const img = document.createElement("img");
      img.src = answer.image;
      img.alt = "First page of the " + answer.job + " document for " + answer.record;
      const caption = document.createElement("figcaption");
      caption.textContent = answer.job + " · " + answer.record + " · page 1 · ";
      const link = document.createElement("a");
      link.href = answer.page;
      link.textContent = "open on its own page";
      caption.appendChild(link);
      figure.append(img, caption);
      area.replaceChildren(figure);
    } catch (error) {
      area.replaceChildren(problem([error.message]));
    } finally {
      button.disabled = false;
    }
  }

  // The outcome as the desk renders it on the run's own page.
  async function outcome(url, id) {
    const response = await desk.fetch(url, { headers: { Accept: "text/html" } });
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const found = doc.getElementById("outcome-" + id);
    return found ? document.importNode(found, true) : null;
  }

  async function make(form, section) {
    const area = section.querySelector(".lt-progress");
    const bar = document.createElement("progress");
    const line = document.createElement("p");
    line.setAttribute("role", "status");
    line.textContent = "Starting…";
    area.replaceChildren(line, bar);
    busy(section, true);
    let made = false;
    try {
      const answer = await post(form);
      if (!answer.ok) {
        area.replaceChildren(problem([answer.message].concat(answer.details || [])));
        return;
      }
      const finished = ["done", "failed", "refused"];
      const last = await desk.poll(answer.url, function (run) {
        if (run.total) { bar.max = run.total; bar.value = run.done; }
        line.textContent = run.total && run.done >= run.total
          ? "Saving the documents and writing back to the workbook…"
          : "Making " + run.job + ": " + run.done + " of " + (run.total || "?") + " documents.";
      }, function (run) { return finished.indexOf(run.state) >= 0; }, 400);
      const shown = await outcome(answer.url, last.id);
      area.replaceChildren(shown || problem([last.message || "The run ended; see the Ledger."]));
      made = last.state === "done";
    } catch (error) {
      area.replaceChildren(problem([error.message]));
    } finally {
      busy(section, false);
      // Made: the list above is what was to make; making again waits for a fresh page.
      if (made) {
        section.querySelectorAll(".lt-make-form button").forEach(function (b) { b.disabled = true; });
      }
    }
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    const section = form.closest && form.closest(".lt-job");
    if (!section) { return; }
    if (form.classList.contains("lt-preview-form")) {
      event.preventDefault();
      preview(form, section);
    } else if (form.classList.contains("lt-make-form")) {
      event.preventDefault();
      make(form, section);
    }
  });

})();
