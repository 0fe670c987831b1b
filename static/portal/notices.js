// What a page has to say on arriving is said. After a failed form, the page starts where the problems are
// listed: screen readers read them and the keyboard is one Tab from the first, whose link puts the cursor in the
// field it names. A notice ("Your reply has been added.", "We kept what you typed.") is in a status region, which
// screen readers announce when its content changes, not when it is there as the page loads: so its words are put
// into an empty status region just after, leaving the page where it is and the focus where the page put it (a
// form's first field, a reply's #latest). Without this script the summary and the notices still show, and the
// summary's links still scroll to each field.
(function () {
  "use strict";
  var notices = document.querySelectorAll(".messages, .draft-notice");
  if (notices.length) {
    var announcer = document.createElement("div");
    announcer.setAttribute("role", "status");
    announcer.className = "visually-hidden";
    document.body.appendChild(announcer);
    window.setTimeout(function () {
      announcer.textContent = Array.prototype.map.call(notices, function (notice) { return notice.innerText; }).join(" ");
    }, 150);
  }
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
