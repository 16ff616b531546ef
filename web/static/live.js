// Live dashboard: when the ledger's change feed (Server-Sent Events)
// reports a change, fetch the server-rendered panel and swap it in. The
// page works without this script; it then shows the state at load time.
(function () {
  'use strict';
  var panel = document.getElementById('live-panel');
  var status = document.getElementById('live-status');
  if (!panel || !window.EventSource || !window.fetch) { return; }
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(panel.getAttribute('data-panel'), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
      .then(function (html) {
        // Keep keyboard focus where it was if the focused link survives.
        var focused = document.activeElement && panel.contains(document.activeElement) ? document.activeElement.getAttribute('href') : null;
        panel.innerHTML = html;
        if (focused) {
          var again = panel.querySelector('a[href="' + focused.replace(/"/g, '') + '"]');
          if (again) { again.focus(); }
        }
      })
      .catch(function () { status.textContent = status.getAttribute('data-down'); })
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var es = new EventSource(panel.getAttribute('data-live'));
  es.addEventListener('change', refresh);
  es.addEventListener('open', function () { status.textContent = status.getAttribute('data-ok'); });
  es.addEventListener('error', function () { status.textContent = status.getAttribute('data-down'); });
})();
