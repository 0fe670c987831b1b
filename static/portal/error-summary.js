// After a failed form, start where the problems are listed: screen readers read them and the keyboard
// is one Tab from the first. A link in the list then puts the cursor in the field it names. Without
// this script the summary still shows and its links still scroll to each field.
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) return;
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    var target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    if (target.tagName === "FORM") target = target.querySelector("input:not([type=hidden]), textarea, select, button") || target;
    event.preventDefault();
    var label = target.id && document.querySelector("label[for='" + target.id + "']");
    (label || target).scrollIntoView();
    target.focus({ preventScroll: true });
  });
})();
