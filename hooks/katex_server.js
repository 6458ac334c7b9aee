// Long-lived KaTeX renderer for hooks/katex.py (JSON lines over stdin/stdout).
//
// Request (one line):  [{"tex": "...", "display": true|false}, ...]   -- every formula of one page
// Response (one line): [{"html": "..."} | {"error": "..."}, ...]      -- same order, same length
//
// One request per page keeps the round trips to one per page; one process per build avoids
// paying Node's start-up (~50 ms) for every page. `katex` resolves from the repo's node_modules
// (this file lives in <repo>/hooks, so Node's lookup walks up to <repo>/node_modules).
"use strict";
const katex = require("katex");
const readline = require("readline");

const OPTIONS = {
  throwOnError: true, // a bad formula is an error, never silently red text
  strict: "error", // LaTeX-compatibility lapses (e.g. unicode in math) are errors too
  output: "htmlAndMathml", // visual HTML + MathML for screen readers
};

// First line tells the Python side which KaTeX it talks to, so the CSS it ships matches.
process.stdout.write(JSON.stringify({ version: katex.version }) + "\n");

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const results = JSON.parse(line).map(({ tex, display }) => {
    try {
      return { html: katex.renderToString(tex, { ...OPTIONS, displayMode: display }) };
    } catch (err) {
      return { error: String(err && err.message ? err.message : err) };
    }
  });
  process.stdout.write(JSON.stringify(results) + "\n");
});
