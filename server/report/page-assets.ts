/** The report page's own style sheet and script, inlined: the page loads nothing, from anywhere. */
export const REPORT_CSS = `
:root { --text:#1b1f24; --muted:#57606a; --line:#d0d7de; --panel:#f6f8fa;
  --accepted-bg:#dafbe1; --accepted-fg:#116329; --rejected-bg:#ffebe9; --rejected-fg:#a40e26;
  --discarded-bg:#eaeef2; --discarded-fg:#424a53; --incomplete-bg:#fff8c5; --incomplete-fg:#6f4400;
  --mono: ui-monospace, 'SFMono-Regular', 'DejaVu Sans Mono', Menlo, Consolas, monospace;
  font-family: system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', Roboto, sans-serif; font-size: 14px; line-height: 1.45; color: var(--text); }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0 auto; padding: 1rem 1.5rem 4rem; max-width: 1200px; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
.muted, caption { color: var(--muted); }
caption { text-align: left; padding: .25rem 0; }
code, .hex, pre, .token { font-family: var(--mono); font-size: 12.5px; }
.hex { white-space: pre; }
pre { background: var(--panel); border: 1px solid var(--line); padding: .5rem; overflow: auto; white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.chip { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: 12px; font-weight: 600; }
.outcome-accepted .chip, .chip.outcome-accepted { background: var(--accepted-bg); color: var(--accepted-fg); }
.outcome-rejected .chip, .chip.outcome-rejected, .chip.outcome-unparsable { background: var(--rejected-bg); color: var(--rejected-fg); }
.outcome-discarded .chip, .chip.outcome-discarded { background: var(--discarded-bg); color: var(--discarded-fg); }
.outcome-incomplete .chip, .chip.outcome-incomplete { background: var(--incomplete-bg); color: var(--incomplete-fg); }
.records tr.outcome-rejected td.reason { color: var(--rejected-fg); }
.records tbody tr:hover { background: var(--panel); }
.counts { display: flex; gap: .5rem; flex-wrap: wrap; margin: .5rem 0; }
.filters { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; margin: .75rem 0; }
.filters button[aria-pressed="true"] { font-weight: 700; text-decoration: underline; }
.record { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: 1rem 0; }
.record:target { outline: 3px solid #0969da; }
.verdict { border-left: 4px solid var(--line); padding: .25rem .75rem; margin: .5rem 0; background: var(--panel); }
.verdict-rejected, .verdict-unparsable { border-color: var(--rejected-fg); background: var(--rejected-bg); }
.verdict-accepted { border-color: var(--accepted-fg); background: var(--accepted-bg); }
.verdict-incomplete { border-color: var(--incomplete-fg); background: var(--incomplete-bg); }
.verdict-discarded { border-color: var(--discarded-fg); background: var(--discarded-bg); }
.verdict p { margin: .2rem 0; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: .25rem 1rem; margin: .5rem 0; }
.facts dt { color: var(--muted); font-size: 12px; }
.facts dd { margin: 0; word-break: break-all; }
.bytes-table tr.problem { background: var(--rejected-bg); }
.bytes-table tr.problem-reason td { color: var(--rejected-fg); border-bottom: 2px solid var(--rejected-fg); }
.hidden-char { background: #fff8c5; color: #6f4400; border: 1px dashed #bf8700; font-family: var(--mono); font-size: 11px; }
.note { font-style: italic; }
a { color: #0969da; }
`;

/** Filters the table and the details by outcome and by text; the page reads fully without it. */
export const REPORT_SCRIPT = `
(() => {
  const rows = [...document.querySelectorAll('table.records tbody tr')];
  const records = new Map([...document.querySelectorAll('article.record')].map((a) => [a.id, a]));
  const buttons = [...document.querySelectorAll('.filters button')];
  const search = document.querySelector('.filters input');
  let outcome = 'all';
  const apply = () => {
    const text = search.value.trim().toLowerCase();
    for (const row of rows) {
      const shown = (outcome === 'all' || row.dataset.outcome === outcome) && (text === '' || row.textContent.toLowerCase().includes(text));
      row.hidden = !shown;
      const detail = records.get(row.dataset.record);
      if (detail) detail.hidden = !shown;
    }
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.outcome === outcome));
  };
  for (const b of buttons) b.addEventListener('click', () => { outcome = b.dataset.outcome; apply(); });
  search.addEventListener('input', apply);
  document.querySelector('.filters').hidden = false;
  apply();
})();
`;
