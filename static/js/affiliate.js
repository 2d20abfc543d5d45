// The affiliate page's "Copy link" button. Without the Clipboard API (an old
// browser, or a page not served over https) the link is selected instead, so
// the customer can copy it by hand.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentElement.querySelector("[data-copy-status]");
    button.addEventListener("click", function () {
      field.select();
      if (!navigator.clipboard) {
        status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected link.";
        return;
      }
      navigator.clipboard.writeText(field.value).then(
        function () { status.textContent = "Copied."; },
        function () { status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected link."; }
      );
    });
  });
})();
