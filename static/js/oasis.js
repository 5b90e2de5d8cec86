// Small progressive enhancements for the staff pages; everything works without this file.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // Selects marked data-autosubmit submit their form on change (the button is the no-JS path).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit();
    }
  });

  // A composer form is cleared once its message is stored (2xx), never after a 400.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    var xhr = event.detail.xhr;
    if (elt instanceof HTMLFormElement && elt.hasAttribute("data-reset-on-success") && xhr && xhr.status < 300) {
      elt.reset();
    }
  });
})();
