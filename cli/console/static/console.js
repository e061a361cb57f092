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

  // A form is sent once: a second click (or Enter) while the answer is on its way would create a
  // second subscription, rotate the secret twice (the first new secret never shown) or resend twice.
  // The buttons are not disabled here: a disabled submitter would drop its name=value (Redrive or
  // Discard) from the form being sent.
  function sendOnce(form) {
    form.addEventListener('submit', (event) => {
      if (form.hasAttribute('data-submitting')) {
        event.preventDefault();
        return;
      }
      form.setAttribute('data-submitting', '');
      form.setAttribute('aria-busy', 'true');
    });
  }
  // Back to a page from the history: its forms can be sent again.
  window.addEventListener('pageshow', () => {
    document.querySelectorAll('form[data-submitting]').forEach((f) => {
      f.removeAttribute('data-submitting');
      f.removeAttribute('aria-busy');
    });
  });

  function clock(date) {
    return `${date.toISOString().slice(11, 19)} UTC`;
  }

  /** Why a live list could not be read: the console's own error line, else the HTTP status. */
  async function reasonOf(res) {
    try {
      const page = new DOMParser().parseFromString(await res.text(), 'text/html');
      const line = page.querySelector('.notice.error p')?.textContent?.trim();
      if (line) return line;
    } catch {
      // fall through
    }
    return `HTTP ${res.status}`;
  }

  function live(tbody) {
    const src = tbody.getAttribute('data-live-src');
    const table = tbody.closest('table');
    let last = tbody.innerHTML;
    let busy = false;
    let updated = new Date();
    // Said under the table while the list cannot be refreshed (target stopped, console stopped).
    const note = document.createElement('p');
    note.className = 'stale-note';
    note.setAttribute('role', 'status');
    note.hidden = true;
    table?.after(note);
    const liveBadge = table?.closest('section')?.querySelector('h2 small.live');
    const badge = (isStale) => {
      if (!liveBadge) return;
      liveBadge.classList.toggle('stale', isStale);
      liveBadge.textContent = isStale ? 'not updating' : 'live';
    };
    const stale = (why) => {
      table?.setAttribute('data-stale', 'true');
      note.textContent = `Not updating: ${why}. The list above is as of ${clock(updated)}; it refreshes by itself once the deliveries can be read again.`;
      note.hidden = false;
      badge(true);
    };
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
          updated = new Date();
          table?.removeAttribute('data-stale');
          note.hidden = true;
          note.textContent = '';
          badge(false);
        } else {
          stale(await reasonOf(res));
        }
      } catch {
        stale('the console does not answer (stopped?)');
      } finally {
        busy = false;
      }
    }
    setInterval(tick, POLL_MS);
  }

  function color(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // In UTC, like every other time the console shows (the axis says so).
  function label(iso, range) {
    const hm = iso.slice(11, 16);
    return range === '7d' ? `${iso.slice(5, 10)} ${hm}` : hm;
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
        scales: {
          x: { ticks: { maxTicksLimit: 12, autoSkip: true }, grid: { display: false }, title: { display: true, text: 'UTC' } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    canvas.setAttribute('data-drawn', 'true');
  }

  function start() {
    document.querySelectorAll('form[method="post"]').forEach(sendOnce);
    document.querySelectorAll('tbody[data-live-src]').forEach(live);
    document.querySelectorAll('canvas[data-chart-src]').forEach((c) => void chart(c));
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
