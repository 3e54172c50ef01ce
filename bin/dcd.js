#!/usr/bin/env node
// The `dcd` command: runs the compiled CLI (built into dist/ by `npm ci` / `npm run build`, and
// shipped in the package's tarball), on plain Node: no TypeScript loader at run time.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  // a checkout before its build; an installed package always ships dist/ (package.json "files")
  process.stderr.write(`dcd: ${fileURLToPath(main)} is missing — in a checkout run \`npm ci\` (or \`npm run build\`) first; an installed package ships it, so reinstall\n`);
  process.exit(2);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
