// Checks that every ```mermaid block in the given Markdown files parses, with mermaid's own
// parser (no browser: a jsdom window stands in for the DOM). Run by hand, not in CI; see
// README.md beside this file.
//
//   node tests/mermaid/check-mermaid.mjs tests/snapshots/report.md [more.md …]
//
// mermaid and jsdom are looked up from $MERMAID_MODULES (a directory holding node_modules),
// else from this script's directory.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const base = process.env.MERMAID_MODULES ?? dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(base, "resolve-from-here.js"));

const { JSDOM } = require("jsdom");
const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
for (const name of ["window", "document", "navigator", "Element", "HTMLElement", "SVGElement", "DOMParser"]) {
  if (!(name in globalThis)) {
    Object.defineProperty(globalThis, name, { value: dom.window[name], configurable: true, writable: true });
  }
}

const mermaidPath = require.resolve("mermaid");
const mermaidVersion = require(join(mermaidPath.split("/dist/")[0], "package.json")).version;
const { default: mermaid } = await import(pathToFileURL(mermaidPath).href);
mermaid.initialize({ startOnLoad: false });

/** The bodies of the ```mermaid fenced blocks in `markdown`. */
function mermaidBlocks(markdown) {
  const blocks = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})mermaid\s*$/.exec(lines[i]);
    if (!open) continue;
    const body = [];
    let j = i + 1;
    while (j < lines.length && lines[j] !== open[1]) body.push(lines[j++]);
    if (j === lines.length) throw new Error(`unclosed mermaid block at line ${i + 1}`);
    blocks.push({ line: i + 1, text: body.join("\n") });
    i = j;
  }
  return blocks;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node check-mermaid.mjs FILE.md [FILE.md …]");
  process.exit(2);
}
let failures = 0;
let checked = 0;
for (const file of files) {
  const blocks = mermaidBlocks(readFileSync(file, "utf8"));
  if (blocks.length === 0) console.log(`${file}: no mermaid block`);
  for (const block of blocks) {
    checked++;
    try {
      const result = await mermaid.parse(block.text, { suppressErrors: false });
      console.log(`${file}:${block.line}: ok (${result.diagramType})`);
    } catch (error) {
      failures++;
      console.log(`${file}:${block.line}: FAILED: ${String(error?.message ?? error).split("\n").join("\n    ")}`);
    }
  }
}
console.log(`mermaid ${mermaidVersion}: ${checked} block(s) checked, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
