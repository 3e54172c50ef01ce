/**
 * DOC: where a JSON text goes wrong, as line and column.
 *
 * `JSON.parse` in recent V8 often reports a bad token without a position ("Unexpected token '}',
 * … is not valid JSON"), and a scenario author needs a line and column. This is a strict RFC 8259
 * scanner that only finds the first error; it runs only after `JSON.parse` has already failed,
 * so it never has to build values.
 */

export interface JsonSyntaxError {
  offset: number;
  /** 1-based */
  line: number;
  /** 1-based, in UTF-16 code units */
  column: number;
  message: string;
}

class Stop {
  constructor(readonly offset: number, readonly message: string) {}
}

export function locateJsonError(text: string): JsonSyntaxError | null {
  let i = 0;
  const peek = (): string | undefined => text[i];
  const describe = (): string => (i >= text.length ? 'end of input' : `${JSON.stringify(text[i])}`);
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const expect = (what: string): never => {
    throw new Stop(i, `expected ${what}, found ${describe()}`);
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else expect('a JSON value');
  };
  const str = (): void => {
    i++; // opening quote
    for (;;) {
      const c = peek();
      if (c === undefined) throw new Stop(i, 'unterminated string');
      if (c === '"') { i++; return; }
      if (c < ' ') throw new Stop(i, 'control character in string (escape it)');
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else throw new Stop(i, 'bad escape in string');
      } else i++;
    }
  };
  const num = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '-' || m[0] === '') expect('a JSON value');
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = peek();
    if (c === '{') {
      i++; ws();
      if (peek() === '}') { i++; return; }
      for (;;) {
        ws();
        if (peek() !== '"') expect('a double-quoted property name');
        str(); ws();
        if (peek() !== ':') expect("':'");
        i++; value(); ws();
        if (peek() === ',') { i++; continue; }
        if (peek() === '}') { i++; return; }
        expect("',' or '}'");
      }
    } else if (c === '[') {
      i++; ws();
      if (peek() === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (peek() === ',') { i++; continue; }
        if (peek() === ']') { i++; return; }
        expect("',' or ']'");
      }
    } else if (c === '"') str();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) num();
    else expect('a JSON value');
  };
  try {
    value(); ws();
    if (i < text.length) expect('end of input');
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    const before = text.slice(0, e.offset);
    const line = before.split('\n').length;
    const column = e.offset - (before.lastIndexOf('\n') + 1) + 1;
    return { offset: e.offset, line, column, message: e.message };
  }
}
