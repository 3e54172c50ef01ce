// No runtime import cycle among the modules of src/ (issue 16.3). A cycle of ES modules loads, but
// whichever module of the ring is evaluated first sees the others' bindings uninitialised: one
// top-level use of an imported value (a constant, a table built at load) then throws at load time
// in some workers and not others, depending on which entry imported the ring first.
//
// The finder is self-contained: it reads the static `import … from '…'`, `import '…'` and
// `export … from '…'` statements with relative specifiers, skips the ones TypeScript erases
// (`import type`, `export type`, and braces naming only `type` specifiers — tsconfig has no
// verbatimModuleSyntax), maps `.js` to the `.ts` source, and finds the strongly connected
// components of the graph with Tarjan's algorithm. Dynamic `import()` is not an edge: it runs after
// every static import has been evaluated.
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The relative specifiers a module's static imports and re-exports load at run time. */
function runtimeImports(source: string): string[] {
  const out: string[] = [];
  // the clause is identifiers, braces, commas, `* as x` and `type` keywords only, so a statement
  // never runs into the next one; a comment line starts with `*` or `//` and does not match
  const withClause = /^[ \t]*(import|export)\s+([\w$\s{},*]+?)\s*from\s*(['"])(\.{1,2}\/[^'"]+)\3/gm;
  for (const m of source.matchAll(withClause)) {
    const clause = m[2]!.trim();
    if (/^type\s/.test(clause)) continue; // import type / export type
    const braces = /^\{([^}]*)\}$/.exec(clause);
    if (braces) {
      const names = braces[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (names.length > 0 && names.every((s) => /^type\s/.test(s))) continue; // only types: erased
    }
    out.push(m[4]!);
  }
  for (const m of source.matchAll(/^[ \t]*import\s*(['"])(\.{1,2}\/[^'"]+)\1/gm)) out.push(m[2]!); // side effect
  return out;
}

interface Graph {
  files: string[];
  edges: Map<string, string[]>;
}

/** The runtime import graph of `sources` (path → text); edges leaving the set are dropped. */
function importGraph(sources: Map<string, string>): Graph {
  const files = [...sources.keys()].sort();
  const edges = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const f of files) {
    for (const spec of runtimeImports(sources.get(f)!)) {
      const base = resolve(dirname(f), spec);
      const target = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')].find((p) => sources.has(p));
      if (target !== undefined && !edges.get(f)!.includes(target)) edges.get(f)!.push(target);
    }
  }
  return { files, edges };
}

/** Tarjan: every strongly connected component of more than one file, or of one file importing itself. */
function importCycles(g: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of g.edges.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (g.edges.get(v) ?? []).includes(v)) out.push(scc.sort());
  };
  for (const f of g.files) if (!index.has(f)) strong(f);
  return out;
}

function readTree(dir: string, into = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) readTree(p, into);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) into.set(p, readFileSync(p, 'utf8'));
  }
  return into;
}

t.test('the finder finds a planted cycle and ignores what TypeScript erases', async (t) => {
  const at = (n: string): string => resolve('/synthetic/src', n);
  const graph = (files: Record<string, string>): Graph => importGraph(new Map(Object.entries(files).map(([k, v]) => [at(k), v])));
  // a → b → c → a, written in the forms src/ uses (multi-line braces, a re-export, a side effect)
  const ring = graph({
    'a.ts': "import {\n  b1,\n  b2,\n} from './b.js';\n",
    'b.ts': "export { c } from './lib/c.js';\nexport const b1 = 1, b2 = 2;\n",
    'lib/c.ts': "import '../a.js';\nexport const c = 3;\n",
    'd.ts': "import { b1 } from './b.js';\n",
  });
  t.same(importCycles(ring), [[at('a.ts'), at('b.ts'), at('lib/c.ts')]], 'the three-file ring, and not d.ts which only hangs off it');
  t.same(importCycles(graph({ 'self.ts': "import { x } from './self.js';\n" })), [[at('self.ts')]], 'a module importing itself');
  // the same ring closed only by type imports is no runtime cycle
  const typed = graph({
    'a.ts': "import { b1 } from './b.js';\n",
    'b.ts': "import type { A } from './a.js';\nimport { type A2, type A3 } from './a.js';\nexport type { A } from './a.js';\n// import { a } from './a.js' in a comment\n * import { a } from './a.js';\n",
  });
  t.same(importCycles(typed), [], 'import type, all-type braces, export type and comments are not edges');
  t.same(typed.edges.get(at('a.ts')), [at('b.ts')], 'the value import is an edge');
  t.same(importCycles(graph({ 'a.ts': "import { type T, v } from './b.js';\n", 'b.ts': "import d, { type U } from './a.js';\n" })).length, 1,
    'a brace with one value name, or a default import beside types, is a runtime edge');
});

t.test('src/ has no runtime import cycle', async (t) => {
  const g = importGraph(readTree(join(ROOT, 'src')));
  const n = [...g.edges.values()].reduce((a, e) => a + e.length, 0);
  t.comment(`read ${g.files.length} files under src/ and ${n} runtime import edges`);
  // the parser is not vacuous: an edge known to exist is found
  const has = (from: string, to: string): boolean => g.edges.get(join(ROOT, from))?.includes(join(ROOT, to)) ?? false;
  t.ok(has('src/cxl/extent.ts', 'src/cxl/region.ts'), 'sanity: the runtime edge extent.ts → region.ts is read');
  const cycles = importCycles(g).map((c) => `cycle among ${c.map((f) => relative(ROOT, f)).join(', ')}`);
  t.same(cycles, [], 'no strongly connected component of more than one module');
  // the CXL core reaches the DAX driver through src/cxl/dax-driver.ts, never by importing src/dax
  const cxlToDax = g.files.filter((f) => relative(ROOT, f).startsWith('src/cxl/'))
    .flatMap((f) => g.edges.get(f)!.filter((w) => relative(ROOT, w).startsWith('src/dax/')).map((w) => `${relative(ROOT, f)} → ${relative(ROOT, w)}`));
  t.same(cxlToDax, [], 'no runtime import from src/cxl/ into src/dax/');
});

t.test('every worker entry that loads the CXL core also loads the cxl_dax_region driver', async (t) => {
  // src/cxl/dax-driver.ts throws on a call with no driver registered; src/dax/cxl.ts registers it
  // at load. A worker that can run extent or region code must therefore load src/dax/cxl.ts too.
  const sources = readTree(join(ROOT, 'src'));
  for (const name of readdirSync(join(ROOT, 'workers'))) {
    if (name.endsWith('.ts')) sources.set(join(ROOT, 'workers', name), readFileSync(join(ROOT, 'workers', name), 'utf8'));
  }
  const g = importGraph(sources);
  const reach = (from: string): Set<string> => {
    const seen = new Set<string>([from]);
    const todo = [from];
    while (todo.length) for (const w of g.edges.get(todo.pop()!) ?? []) if (!seen.has(w)) { seen.add(w); todo.push(w); }
    return seen;
  };
  const core = ['src/cxl/extent.ts', 'src/cxl/region.ts'].map((f) => join(ROOT, f));
  const entries = g.files.filter((f) => relative(ROOT, f).startsWith('workers/'));
  let loadsCore = 0;
  for (const e of entries) {
    const r = reach(e);
    if (!core.some((c) => r.has(c))) continue;
    loadsCore++;
    t.ok(r.has(join(ROOT, 'src/dax/cxl.ts')), `${relative(ROOT, e)} loads src/dax/cxl.ts`);
  }
  t.comment(`${loadsCore} of ${entries.length} worker entries load the CXL core`);
  t.ok(loadsCore >= 4, 'the event-thread, workqueue, dax-bus and user entries are among them');
});

t.test('a CXL → DAX call with no cxl_dax_region driver registered throws', async (t) => {
  // this test process never loads src/dax/cxl.ts, so nothing registered the driver
  const { cxl_dax_region_notify, dax_release_resource } = await import('../src/cxl/dax-driver.js');
  const ctx = {} as Parameters<typeof cxl_dax_region_notify>[0]; // never read: the call throws first
  t.throws(() => cxl_dax_region_notify(ctx, 0 as never, 'add', 0 as never), /cxl_dax_region_notify: no cxl_dax_region driver registered/);
  t.throws(() => dax_release_resource(ctx, 0 as never), /dax_release_resource: no cxl_dax_region driver registered/);
});
