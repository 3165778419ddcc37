/**
 * The stylesheet of nixedge's pages (the front page, readable errors): one column that fits a
 * phone, system fonts, light and dark by the reader's preference. Inlined into each page: no
 * second request, nothing to build.
 */

export const STYLES = `
:root { color-scheme: light dark; --fg: #1d232a; --muted: #5b6470; --bg: #fdfdfc; --panel: #f1f3f5; --line: #d6dadf;
  --accent: #2f5fb3; --ok: #1f7a3a; --warn: #8a5a00; --bad: #b3261e; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e8eb; --muted: #a3abb5; --bg: #15181c; --panel: #20252b; --line: #353c45;
    --accent: #8ab4f8; --ok: #6fd08c; --warn: #f0c060; --bad: #ff8a80; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 46rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
h1 { font-size: 1.9rem; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.5rem; border-bottom: 1px solid var(--line); padding-bottom: 0.25rem; }
p, ul, dl, table { margin: 0.5rem 0; }
a { color: var(--accent); }
.lead { font-size: 1.1rem; color: var(--muted); margin-top: 0; }
code, pre, kbd { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.92em; }
code { background: var(--panel); padding: 0.05em 0.2em; border-radius: 4px; overflow-wrap: anywhere; }
pre { background: var(--panel); padding: 0.7rem 0.9rem; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
pre code { background: none; padding: 0; }
form pre { background: var(--bg); border: 1px solid var(--line); }
dt { font-weight: 600; margin-top: 0.6rem; }
dd { margin: 0.1rem 0 0 1rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
.table { overflow-x: auto; }
form { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 0.9rem; margin: 0.75rem 0; }
label { display: block; font-weight: 600; margin: 0.4rem 0 0.2rem; }
label.option { font-weight: normal; display: flex; gap: 0.5rem; align-items: baseline; }
input[type=text] { width: 100%; font: inherit; padding: 0.45rem 0.55rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
.hint { color: var(--muted); font-size: 0.9rem; margin: 0.15rem 0 0.4rem; }
.buttons { display: flex; flex-wrap: wrap; gap: 0.5rem; margin-top: 0.75rem; }
button { font: inherit; padding: 0.45rem 0.9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--bg); cursor: pointer; }
button:disabled { opacity: 0.6; cursor: progress; }
button.secondary { background: transparent; color: var(--accent); }
button.suggestion { padding: 0.1rem 0.5rem; margin: 0 0.25rem; }
.answer { overflow-wrap: anywhere; margin-top: 0.75rem; padding: 0.6rem 0.8rem; border-radius: 6px; border-left: 4px solid var(--line); background: var(--bg); }
.answer:empty { display: none; }
.answer[data-state=ready] { border-color: var(--ok); }
.answer[data-state=building], .answer[data-state=checking] { border-color: var(--warn); }
.answer[data-state=unknown], .answer[data-state=error] { border-color: var(--bad); }
.answer strong { display: block; }
.state-ready { color: var(--ok); } .state-building { color: var(--warn); } .state-failed { color: var(--bad); }
.muted { color: var(--muted); }
footer { margin-top: 2.5rem; color: var(--muted); font-size: 0.9rem; border-top: 1px solid var(--line); padding-top: 0.75rem; }
`;
