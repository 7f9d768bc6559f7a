// GET /analytics: the dashboard's figures (GET /api/analytics/dashboard, or /landlord/{id}) drawn with Chart.js.
import { byId, fill, say, table } from './dom.js';
import { ApiProblem, bindSignIn, Session } from './session.js';

const DAY_MS = 86_400_000;
const COLORS = {
  blue: '#2563eb',
  teal: '#0d9488',
  amber: '#d97706',
  violet: '#7c3aed',
  grid: '#e5e7eb',
  text: '#374151',
};

const integer = new Intl.NumberFormat('en-GB');
const percent = new Intl.NumberFormat('en-GB', {
  style: 'percent',
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
/** A rate as the tiles show it; null (nothing to divide by) is "n/a". */
const rate = (value) => (value === null || value === undefined ? 'n/a' : percent.format(value));

/** The digits after the point of a currency (EUR 2, JPY 0): amounts come in minor units. */
function currencyFormat(currency) {
  try {
    const format = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
    return { format, digits: format.resolvedOptions().maximumFractionDigits };
  } catch {
    return null;
  }
}
const major = (amount, currency) => amount / 10 ** (currencyFormat(currency)?.digits ?? 2);
function money(amount, currency) {
  const known = currencyFormat(currency);
  return known
    ? known.format.format(amount / 10 ** known.digits)
    : `${integer.format(amount)} ${currency} (minor units)`;
}

const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
/** The last `days` UTC days by this browser's clock, today included. */
function lastDays(days) {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  return { from: isoDay(today - (days - 1) * DAY_MS), to: isoDay(today) };
}

const session = new Session();
const view = {
  signedIn: byId('signed-in'),
  period: byId('period'),
  from: byId('from'),
  to: byId('to'),
  landlord: byId('landlord'),
  status: byId('status'),
  problem: byId('problem'),
  figures: byId('figures'),
  capped: byId('capped'),
  scope: byId('scope-title'),
  signInError: byId('sign-in-error'),
};
const charts = new Map();
let shown = null;
let requestNumber = 0;

function destroyCharts() {
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
}

function draw(key, config, summary, tableNode) {
  const canvas = byId(`chart-${key}`);
  charts.get(key)?.destroy();
  const Chart = window.Chart;
  if (!Chart) throw new Error('the chart library did not load');
  const base = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    plugins: { legend: { display: false } },
  };
  charts.set(key, new Chart(canvas, { ...config, options: { ...base, ...config.options } }));
  canvas.setAttribute('aria-label', summary);
  say(byId(`summary-${key}`), summary);
  fill(byId(`table-${key}`), tableNode);
}

const countAxis = { beginAtZero: true, ticks: { precision: 0 }, grid: { color: COLORS.grid } };

function drawBookings(f) {
  const days = f.bookingsPerDay;
  const total = days.reduce((sum, d) => sum + d.bookings, 0);
  const busiest = days.reduce((best, d) => (d.bookings > (best?.bookings ?? 0) ? d : best), null);
  const summary =
    total === 0
      ? `No bookings were requested from ${f.from} to ${f.to}.`
      : `${integer.format(total)} bookings requested from ${f.from} to ${f.to}; the most on ${busiest.date} (${integer.format(busiest.bookings)}).`;
  draw(
    'bookings',
    {
      type: 'bar',
      data: {
        labels: days.map((d) => d.date),
        datasets: [{ label: 'Bookings', data: days.map((d) => d.bookings), backgroundColor: COLORS.blue }],
      },
      options: {
        scales: {
          x: { grid: { display: false }, ticks: { callback: (_value, index) => days[index]?.date.slice(5) } },
          y: countAxis,
        },
      },
    },
    summary,
    table(
      'Bookings requested per day',
      ['Date', 'Bookings'],
      days.map((d) => [d.date, integer.format(d.bookings)]),
    ),
  );
}

function drawVenues(f) {
  const venues = f.topVenues;
  const name = (v) => v.name ?? v.venueId;
  const summary =
    venues.length === 0
      ? 'No booked nights at an exam venue in this period.'
      : `Top venues by nights booked: ${venues.map((v) => `${name(v)} ${integer.format(v.nights)} nights (${integer.format(v.bookings)} bookings)`).join('; ')}.`;
  draw(
    'venues',
    {
      type: 'bar',
      data: {
        labels: venues.map(name),
        datasets: [{ label: 'Nights booked', data: venues.map((v) => v.nights), backgroundColor: COLORS.teal }],
      },
      options: {
        indexAxis: 'y',
        scales: { x: countAxis, y: { grid: { display: false } } },
      },
    },
    summary,
    table(
      'Top exam venues',
      ['Venue', 'Bookings', 'Nights booked'],
      venues.map((v) => [name(v), integer.format(v.bookings), integer.format(v.nights)]),
    ),
  );
}

const stars = (rating) => `${rating} star${rating === 1 ? '' : 's'}`;

function drawRatings(f) {
  const counts = [1, 2, 3, 4, 5].map((rating) => ({
    rating,
    count: f.ratingDistribution.find((r) => r.rating === rating)?.count ?? 0,
  }));
  const total = counts.reduce((sum, r) => sum + r.count, 0);
  const summary =
    total === 0
      ? 'No room reviews were published in this period.'
      : `${integer.format(total)} reviews: ${counts.map((r) => `${stars(r.rating)} ${integer.format(r.count)}`).join(', ')}.`;
  draw(
    'ratings',
    {
      type: 'bar',
      data: {
        labels: counts.map((r) => `${r.rating} ★`),
        datasets: [{ label: 'Reviews', data: counts.map((r) => r.count), backgroundColor: COLORS.amber }],
      },
      options: { scales: { x: { grid: { display: false } }, y: countAxis } },
    },
    summary,
    table(
      'Reviews by rating',
      ['Rating', 'Reviews'],
      counts.map((r) => [stars(r.rating), integer.format(r.count)]),
    ),
  );
}

function drawRevenue(f) {
  const currencies = [...new Set([...f.revenue, ...f.averageDailyRate].map((m) => m.currency))].sort();
  const amountIn = (list, currency) => list.find((m) => m.currency === currency)?.amount ?? 0;
  const rows = currencies.map((currency) => ({
    currency,
    revenue: amountIn(f.revenue, currency),
    adr: amountIn(f.averageDailyRate, currency),
  }));
  const summary =
    rows.length === 0
      ? 'No revenue in this period.'
      : rows
          .map(
            (r) =>
              `${r.currency}: revenue ${money(r.revenue, r.currency)}, average daily rate ${money(r.adr, r.currency)}`,
          )
          .join('; ') + '.';
  draw(
    'revenue',
    {
      type: 'bar',
      data: {
        labels: currencies,
        datasets: [
          {
            label: 'Revenue',
            data: rows.map((r) => major(r.revenue, r.currency)),
            backgroundColor: COLORS.blue,
            yAxisID: 'revenue',
          },
          {
            label: 'Average daily rate',
            data: rows.map((r) => major(r.adr, r.currency)),
            backgroundColor: COLORS.violet,
            yAxisID: 'adr',
          },
        ],
      },
      options: {
        plugins: {
          legend: { display: true, position: 'bottom' },
          tooltip: {
            callbacks: {
              label: (context) => {
                const row = rows[context.dataIndex];
                const amount = context.datasetIndex === 0 ? row.revenue : row.adr;
                return `${context.dataset.label}: ${money(amount, row.currency)}`;
              },
            },
          },
        },
        scales: {
          x: { grid: { display: false } },
          revenue: {
            position: 'left',
            beginAtZero: true,
            title: { display: true, text: 'Revenue' },
            grid: { color: COLORS.grid },
          },
          adr: {
            position: 'right',
            beginAtZero: true,
            title: { display: true, text: 'Average daily rate' },
            grid: { display: false },
          },
        },
      },
    },
    summary,
    table(
      'Revenue and average daily rate per currency',
      ['Currency', 'Revenue', 'Average daily rate'],
      rows.map((r) => [r.currency, money(r.revenue, r.currency), money(r.adr, r.currency)]),
    ),
  );
}

function render(f, landlordId) {
  view.problem.hidden = true;
  view.figures.hidden = false;
  view.from.value = f.from;
  view.to.value = f.to;
  say(view.scope, `${landlordId ? `Landlord ${landlordId}` : 'All landlords'}, ${f.from} to ${f.to}`);
  view.capped.hidden = !f.capped;
  say(
    view.capped,
    f.capped ? `The period asked for was longer than 366 days: it was cut to its last 366 days, from ${f.from}.` : '',
  );
  say(byId('kpi-nights-booked'), integer.format(f.nightsBooked));
  say(byId('kpi-available-nights'), integer.format(f.availableNights));
  say(byId('kpi-occupancy-rate'), rate(f.occupancyRate));
  say(byId('kpi-searches'), integer.format(f.searches));
  say(byId('kpi-search-to-booking-rate'), rate(f.searchToBookingRate));
  drawBookings(f);
  drawVenues(f);
  drawRatings(f);
  drawRevenue(f);
  view.figures.dataset.period = `${f.from}/${f.to}`;
}

function explain(problem) {
  const user = session.user;
  if (!(problem instanceof ApiProblem))
    return { code: 'PAGE_ERROR', text: `The figures could not be shown: ${problem?.message ?? problem}.` };
  if (problem.status === 403 && problem.code === 'OTHER_LANDLORD') {
    return {
      code: problem.code,
      text: 'Not allowed: a landlord sees the figures of their own rooms only. Put your own id in “Landlord id”.',
    };
  }
  if (problem.status === 403) {
    const who = user ? `You are signed in as ${user.email ?? user.id} (${user.role}). ` : '';
    const landlordHint =
      user?.role === 'landlord' ? ' As a landlord, put your own id in “Landlord id” to see your rooms.' : '';
    return {
      code: 'NOT_ALLOWED',
      text: `Not allowed. ${who}The analytics dashboard is for admins and analysts only.${landlordHint} Sign out and sign in with such an account.`,
    };
  }
  if (problem.status === 503 && problem.code === 'ANALYTICS_UNAVAILABLE') {
    return {
      code: problem.code,
      text: `Analytics is unavailable right now: the figures cannot be read (${problem.message}). Try again in a few minutes.`,
    };
  }
  if (problem.status === 400) return { code: problem.code, text: `That period cannot be shown: ${problem.message}.` };
  if (problem.status === 429) return { code: problem.code, text: `Too many requests: ${problem.message}.` };
  if (problem.status === 0) return { code: problem.code, text: `Offline: ${problem.message}.` };
  return {
    code: problem.code,
    text: `The figures could not be loaded (${problem.status} ${problem.code}): ${problem.message}.`,
  };
}

function showProblem(problem) {
  const { code, text } = explain(problem);
  destroyCharts();
  view.figures.hidden = true;
  delete view.figures.dataset.period;
  view.problem.hidden = false;
  view.problem.dataset.code = code;
  say(view.problem, text);
}

async function load() {
  if (!session.user || !view.period.reportValidity()) return;
  const from = view.from.value;
  const to = view.to.value;
  const landlordId = view.landlord.value.trim().toLowerCase();
  if (to < from) {
    showProblem(new ApiProblem(400, 'INVALID_PERIOD', '“To” is before “From”'));
    return;
  }
  const query = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const path = landlordId
    ? `/api/analytics/landlord/${encodeURIComponent(landlordId)}?${query}`
    : `/api/analytics/dashboard?${query}`;
  const mine = ++requestNumber;
  delete view.figures.dataset.period;
  view.status.dataset.state = 'loading';
  say(view.status, `Loading the figures from ${from} to ${to}…`);
  try {
    const figures = await session.request(path);
    if (mine !== requestNumber) return;
    render(figures, landlordId);
    view.status.dataset.state = 'loaded';
    say(
      view.status,
      `Figures from ${figures.from} to ${figures.to}, read at ${new Date().toLocaleTimeString('en-GB')}.`,
    );
  } catch (problem) {
    if (mine !== requestNumber) return;
    view.status.dataset.state = 'failed';
    say(view.status, '');
    if (problem instanceof ApiProblem && problem.status === 401 && !session.user) {
      say(view.signInError, 'Your session has ended: sign in again.');
      return;
    }
    showProblem(problem);
  }
}

function onUser(user) {
  if (user?.id === shown?.id && user?.role === shown?.role) return;
  shown = user;
  view.signedIn.hidden = !user;
  if (!user) {
    requestNumber++;
    destroyCharts();
    view.figures.hidden = true;
    view.problem.hidden = true;
    say(view.status, '');
    view.landlord.value = '';
    return;
  }
  // A landlord may see their own rooms' figures: the form starts with their id.
  if (user.role === 'landlord' && !view.landlord.value) {
    view.landlord.value = user.id;
  }
  void load();
}

const initial = lastDays(30);
view.from.value = initial.from;
view.to.value = initial.to;
view.period.addEventListener('submit', (event) => {
  event.preventDefault();
  void load();
});
for (const button of view.period.querySelectorAll('button[data-days]')) {
  button.addEventListener('click', () => {
    const period = lastDays(Number(button.dataset.days));
    view.from.value = period.from;
    view.to.value = period.to;
    void load();
  });
}
if (window.Chart) {
  window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  window.Chart.defaults.color = COLORS.text;
}
bindSignIn(
  session,
  {
    form: byId('sign-in-form'),
    error: view.signInError,
    signedOut: byId('signed-out'),
    account: byId('account'),
    who: byId('who'),
    signOut: byId('sign-out'),
  },
  onUser,
);
