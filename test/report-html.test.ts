// dcd report: from a stress result (row (a): the tag registry race with cxl_tag_lock dropped) it writes Markdown and an HTML page with an SVG sequence diagram
// per finding, the replay command, reproduction statistics and the fix candidates re-run; the
// page is parsed strictly (balanced tags, quoted attributes, escaped text) and, when
// /usr/bin/chromium exists, rendered headless and its DOM checked.
import t from 'tap';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runCli, type CliIo } from '../src/cli/main.js';

function io(): CliIo & { outText: () => string; errText: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (s) => out.push(s), err: (s) => err.push(s), outText: () => out.join('\n'), errText: () => err.join('\n') };
}

const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'area', 'base', 'col', 'source', 'wbr']);

/** Strict well-formedness: every tag closed in order, attributes quoted, no bare < or & in text. */
export function checkMarkup(html: string): string[] {
  const errs: string[] = [];
  const stack: string[] = [];
  const body = html.replace(/^<!DOCTYPE html>\s*/i, '');
  const re = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[a-zA-Z_:][\w:.-]*="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|#\d+);)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    if (m[0] === '<') { errs.push(`bare or malformed "<" at ${m.index}: ${body.slice(m.index, m.index + 40)}`); continue; }
    if (m[0] === '&') { errs.push(`unescaped & at ${m.index}`); continue; }
    const [, close, name, , self] = m;
    const tag = name!.toLowerCase();
    if (close) {
      const top = stack.pop();
      if (top !== tag) errs.push(`</${tag}> closes <${top ?? 'nothing'}> at ${m.index}`);
    } else if (!self && !VOID.has(tag)) stack.push(tag);
  }
  if (stack.length) errs.push(`unclosed: ${stack.join(' > ')}`);
  return errs;
}

t.test('the strict markup check fails on broken markup', async (t) => {
  t.same(checkMarkup('<!DOCTYPE html><html><body><p>a &amp; b</p><svg><rect x="1"/></svg></body></html>'), []);
  t.ok(checkMarkup('<html><body><p>x</body></html>').length > 0, 'misnested');
  t.ok(checkMarkup('<html><p class=x>y</p></html>').length > 0, 'unquoted attribute');
  t.ok(checkMarkup('<html><p>a < b & c</p></html>').length > 0, 'unescaped text');
});

t.test('dcd report writes Markdown and HTML with an SVG per finding', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dcd-report-'));
  let c = io();
  t.equal(await runCli(['stress', '--workload', 'same-tag-two-memdevs', '--knob', 'tag-lock=off', '--schedule', 'random', '--seed', '7', '--iterations', '1', '--shard', '1/2', '--out', join(dir, 'res')], c), 1); // global iteration 0: the registry race (seed 7)
  const result = readdirSync(join(dir, 'res')).filter((f) => f.endsWith('.json')).map((f) => join(dir, 'res', f));
  t.equal(result.length, 1);
  const out = join(dir, 'report');
  c = io();
  const code = await runCli(['report', ...result, '--out', out, '--runs', '3', '--seconds', '12'], c);
  t.comment(c.outText());
  t.equal(code, 0, 'dcd report exits 0');
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  t.match(md, /^## DCD: tag registered twice in cxl_tag_register \/ cxl_tag_register$/m, 'finding title');
  t.match(md, /class: \*\*forbidden\*\*/);
  t.match(md, /replay: `dcd replay [^`]+\.min\.trace\.json` \(minimized\)/, 'the replay command of the minimized trace');
  t.match(md, /controlled replay 2\/2; free runs of the same plan \d+\/3/, 'reproduction statistics');
  t.match(md, /\| as found \(v11 tag-lock=off\) \| reproduces \| fails at schedule \d+ \| \d of 3 \| — \|/, 'as found: the reproducer fails, and a schedule with at most one preemption does');
  const fix = /\| tag-lock=on \| does not reproduce[^|]* \| 0 of (\d+) \| 0 of 3 \| \*\*yes\*\* \|/.exec(md);
  t.ok(fix, 'tag-lock=on fixes it: the reproducer passes, no schedule with at most one preemption fails, 0 of 3 random');
  t.comment(`tag-lock=on: 0 of ${fix?.[1]} schedules with at most one preemption fail`);
  t.match(md, /\| rcu=on \| reproduces \| [1-9]\d* of \d+ \| \d of 3 \| no \|/, 'rcu=on does not fix the registry race');
  t.match(md, /cxl_tag_register\(\)/, 'the interleaving in kernel terms');
  const errs = checkMarkup(html);
  t.same(errs, [], 'the HTML is well formed');
  const svgs = html.match(/<svg [^>]*class="seq"/g) ?? [];
  const sections = html.match(/<section class="finding"/g) ?? [];
  t.equal(sections.length, 1, 'one section per finding');
  t.equal(svgs.length, 1, 'one SVG sequence diagram per finding');
  const chromium = '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    t.comment('browser check NOT run: /usr/bin/chromium is not installed (apt-get install -y chromium); the HTML was checked structurally only');
    return;
  }
  const profile = mkdtempSync(join(tmpdir(), 'dcd-chromium-'));
  const dom = execFileSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--dump-dom', `file://${join(out, 'report.html')}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
  t.comment(`chromium rendered the report: DOM of ${dom.length} characters`);
  t.equal((dom.match(/<section class="finding"/g) ?? []).length, 1, 'the browser DOM has the finding');
  t.equal((dom.match(/<svg[^>]*class="seq"/g) ?? []).length, 1, 'and its SVG diagram');
  t.match(dom, /<h2>DCD: tag registered twice in cxl_tag_register \/ cxl_tag_register<\/h2>/, 'the title rendered');
  t.match(dom, /<text[^>]*>#\d+ cxl_tag_register\(\)<\/text>/, 'the diagram names the kernel function');
  t.match(dom, /<td>tag-lock=on<\/td><td>does not reproduce[^<]*<\/td><td>0 of \d+<\/td><td>0 of 3<\/td><td class="fix">yes<\/td>/, 'the fix table rendered');
});
