// The admin's help-center sync pages: while a sync runs, reload every 2 s so its progress bar moves.
(function () {
  "use strict";
  if (document.querySelector("[data-sync-running]")) {
    window.setTimeout(function () { window.location.reload(); }, 2000);
  }
})();
