// refdesk desk, Report page: the embedded report takes its full height (so the page scrolls
// once, not a box within a box), and "Print the report" prints the report itself with its
// own print layout. The frame is the desk's own address, so its document is reachable.
"use strict";

(function () {
  function fit(frame) {
    try {
      const root = frame.contentDocument && frame.contentDocument.documentElement;
      if (root) { frame.style.height = root.scrollHeight + "px"; }
    } catch (error) {
      // Not reachable: the stylesheet's height stays, and the frame scrolls.
    }
  }

  function watch(frame) {
    fit(frame);
    const win = frame.contentWindow;
    // The report changes height when a section opens or the width changes its layout.
    if (win && win.ResizeObserver && frame.contentDocument) {
      new win.ResizeObserver(function () { fit(frame); })
        .observe(frame.contentDocument.documentElement);
    }
  }

  document.querySelectorAll("iframe.wk-report").forEach(function (frame) {
    frame.addEventListener("load", function () { watch(frame); });
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") {
      watch(frame);
    }
  });

  document.addEventListener("click", function (event) {
    const button = event.target && event.target.closest &&
      event.target.closest("[data-print-frame]");
    if (!button) { return; }
    const frame = document.getElementById(button.getAttribute("data-print-frame"));
    if (frame && frame.contentWindow) {
      frame.contentWindow.focus();
      frame.contentWindow.print();
    }
  });
})();
