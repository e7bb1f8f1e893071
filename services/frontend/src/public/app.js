// Landing page: each button calls the frontend API once and shows the answer,
// its latency and its trace id (linked to Jaeger's UI).
'use strict';

const jaegerUiUrl = document.body.dataset.jaegerUiUrl || 'http://localhost:16686';
const $ = (id) => document.getElementById(id);

function showTrace(traceId) {
  const cell = $('trace');
  cell.textContent = '';
  if (!traceId) { cell.textContent = 'none'; return; }
  const link = document.createElement('a');
  link.href = `${jaegerUiUrl}/trace/${encodeURIComponent(traceId)}`;
  link.target = '_blank';
  link.rel = 'noopener';
  link.textContent = traceId;
  cell.append(link);
}

async function call(button) {
  const url = new URL(button.dataset.endpoint, window.location.href);
  if (button.id === 'slow') url.searchParams.set('delayMs', $('delay').value);
  for (const b of document.querySelectorAll('button')) b.disabled = true;
  $('status').textContent = `calling ${url.pathname}${url.search}...`;
  const started = performance.now();
  try {
    const response = await fetch(url, { headers: { accept: 'application/json' } });
    const body = await response.json().catch(() => ({}));
    $('status').textContent = `${response.status} ${response.ok ? 'OK' : body.message || response.statusText}`;
    $('latency').textContent = `${Math.round(performance.now() - started)} ms`;
    showTrace(body.traceId);
    const downstream = body.downstream || {};
    $('answered-by').textContent = downstream.service ? `${downstream.service} ${downstream.version} (${downstream.hostname})` : '–';
    $('body').textContent = JSON.stringify(body, null, 2);
  } catch (error) {
    $('status').textContent = `request failed: ${error.message}`;
  } finally {
    for (const b of document.querySelectorAll('button')) b.disabled = false;
  }
}

for (const button of document.querySelectorAll('button[data-endpoint]')) {
  button.addEventListener('click', () => call(button));
}
