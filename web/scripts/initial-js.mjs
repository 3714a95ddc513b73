// Fails the build when the JavaScript a browser loads before the first page is over budget:
// what dist/index.html loads eagerly, its module scripts and the chunks it modulepreloads
// (Vite lists there every chunk the entry imports statically). Pages and xterm.js load later,
// on demand. Sizes are gzip level 9 and brotli quality 11, as the build ships them
// (vite.config.ts). Usage: node scripts/initial-js.mjs [dist]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";

const BUDGET = 250_000; // bytes gzipped (issue #15)

/** The URLs of the module scripts and module preloads in `html`, in page order. */
function eagerScripts(html) {
  const tags = html.match(/<(script|link)\b[^>]*>/g) ?? [];
  return tags
    .filter((tag) => /\btype="module"/.test(tag) || /\brel="modulepreload"/.test(tag))
    .map((tag) => tag.match(/\b(?:src|href)="\/?([^"]+)"/)[1]);
}

function sizes(dist, file) {
  const code = readFileSync(join(dist, file));
  return { file, raw: code.length, gzip: gzipSync(code, { level: 9 }).length, brotli: brotliCompressSync(code).length };
}

const dist = process.argv[2] ?? "dist";
const rows = eagerScripts(readFileSync(join(dist, "index.html"), "utf8")).map((file) => sizes(dist, file));
const total = (key) => rows.reduce((sum, row) => sum + row[key], 0);
console.table([...rows, { file: "initial JavaScript", raw: total("raw"), gzip: total("gzip"), brotli: total("brotli") }]);
if (total("gzip") > BUDGET) {
  console.error(`The initial JavaScript is ${total("gzip")} bytes gzipped, over the budget of ${BUDGET}.`);
  process.exit(1);
}
