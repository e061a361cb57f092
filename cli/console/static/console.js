// statushooks console: the page's only script (the CSP allows no inline script).
// - tables with data-live-src refresh their rows while the page is open (the live delivery list);
// - canvases with data-chart-src draw the subscription's chart with Chart.js.
'use strict';

(function () {
  const POLL_MS = 1500;

  // The printed URL carries the session token once; the cookie set with this page carries it from
  // now on, so it leaves the address bar and the history.
  const address = new URL(location.href);
  if (address.searchParams.has('token')) {
    address.searchParams.delete('token');
    history.replaceState(history.state, '', address.pathname + address.search + address.hash);
  }

  function live(tbody) {
    const src = tbody.getAttribute('data-live-src');
    let last = tbody.innerHTML;
    let busy = false;
    async function tick() {
      if (busy || document.hidden) return;
      busy = true;
      try {
        const res = await fetch(src, { credentials: 'same-origin', headers: { accept: 'text/html' }, cache: 'no-store' });
        if (res.ok) {
          const text = await res.text();
          // The server escapes every value of these rows; replace them only when they changed.
          if (text !== last) {
            tbody.innerHTML = text;
            last = text;
          }
          tbody.closest('table')?.removeAttribute('data-stale');
        } else {
          tbody.closest('table')?.setAttribute('data-stale', String(res.status));
        }
      } catch {
        tbody.closest('table')?.setAttribute('data-stale', 'offline');
      } finally {
        busy = false;
      }
    }
    setInterval(tick, POLL_MS);
  }

  function color(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function label(iso, range) {
    const d = new Date(iso);
    const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return range === '7d' ? `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${hm}` : hm;
  }

  async function chart(canvas) {
    const res = await fetch(canvas.getAttribute('data-chart-src'), { credentials: 'same-origin', cache: 'no-store' });
    if (!res.ok || typeof Chart === 'undefined') return;
    const data = await res.json();
    // eslint-disable-next-line no-undef
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: data.buckets.map((b) => label(b, data.range)),
        datasets: [
          { label: 'Deliveries', data: data.deliveries, backgroundColor: color('--chart-deliveries'), borderRadius: 2 },
          { label: 'Successful attempts', data: data.succeeded, backgroundColor: color('--chart-ok'), borderRadius: 2 },
          { label: 'Failed attempts', data: data.failed, backgroundColor: color('--chart-failed'), borderRadius: 2 },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: { x: { ticks: { maxTicksLimit: 12, autoSkip: true }, grid: { display: false } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    canvas.setAttribute('data-drawn', 'true');
  }

  function start() {
    document.querySelectorAll('tbody[data-live-src]').forEach(live);
    document.querySelectorAll('canvas[data-chart-src]').forEach((c) => void chart(c));
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
