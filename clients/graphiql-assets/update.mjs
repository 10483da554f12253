// Copies the pinned browser builds out of node_modules into app/static/graphiql/ and writes
// manifest.json: for each served file, the npm package and version it came from, the package's
// tarball integrity in package-lock.json, and the file's own SRI hash (sha384), which the page
// puts in its integrity="..." attributes. tests/test_graphiql_assets.py checks all of it.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "app", "static", "graphiql");
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));

// [package, file inside the package, name served under /graphiql/assets/ (version added)]
const FILES = [
  ["react", "umd/react.production.min.js", "react.production.min.js"],
  ["react-dom", "umd/react-dom.production.min.js", "react-dom.production.min.js"],
  ["graphiql", "graphiql.min.js", "graphiql.min.js"],
  ["graphiql", "graphiql.min.css", "graphiql.min.css"],
  ["@graphiql/plugin-explorer", "dist/index.umd.js", "plugin-explorer.umd.js"],
  ["@graphiql/plugin-explorer", "dist/style.css", "plugin-explorer.css"],
];

mkdirSync(out, { recursive: true });
for (const name of readdirSync(out)) {
  if (name.endsWith(".js") || name.endsWith(".css")) rmSync(join(out, name));
}
const manifest = {};
for (const [pkg, path, served] of FILES) {
  const entry = lock.packages[`node_modules/${pkg}`];
  const name = served.replace(/^([^.]+)/, `$1-${entry.version}`);
  copyFileSync(join(here, "node_modules", pkg, path), join(out, name));
  const digest = createHash("sha384").update(readFileSync(join(out, name))).digest("base64");
  manifest[name] = {
    package: pkg,
    version: entry.version,
    path,
    tarballIntegrity: entry.integrity,
    integrity: `sha384-${digest}`,
  };
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`wrote ${Object.keys(manifest).length} files and manifest.json to ${out}`);
