// walletpay checkout: counts a QR code's time down and hides the code once it has expired.
// The page works without this file (the server stops showing an expired code); htmx polls
// the payment's status.
(function () {
  "use strict";
  var seen = new WeakMap();
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-seconds-left]").forEach(function (el) {
      // Counted from when this copy of the block appeared, not from the device's clock.
      if (!seen.has(el)) seen.set(el, now);
      var left = Number(el.getAttribute("data-seconds-left")) - Math.floor((now - seen.get(el)) / 1000);
      if (left < 0) left = 0;
      var out = el.querySelector("[data-countdown]");
      if (out) out.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left === 0 && !el.hidden) {
        el.hidden = true;
        var note = document.getElementById(el.getAttribute("data-expired-note"));
        if (note) note.hidden = false;
      }
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();
