// A small JSON Schema 2020-12 evaluator for tests: only the keywords schema/scenario.schema.json
// uses ($ref to local $defs, type, enum, const, pattern, minimum, maximum, minLength, minItems,
// minProperties, required, properties, additionalProperties, items, allOf, anyOf, oneOf, not,
// if/then/else, unevaluatedProperties). It lets a test hold the published schema to the scenarios
// and to the validator without a dependency; an unknown keyword throws so a schema that grows a
// new one cannot pass by being ignored.

type Node = { [k: string]: unknown } | boolean;

const KNOWN = new Set([
  '$schema', '$ref', '$defs', 'title', 'description', 'type', 'enum', 'const', 'pattern', 'minimum', 'maximum',
  'minLength', 'minItems', 'minProperties', 'required', 'properties', 'additionalProperties', 'items', 'allOf',
  'anyOf', 'oneOf', 'not', 'if', 'then', 'else', 'unevaluatedProperties',
]);

export interface SchemaError { path: string; keyword: string }

function typeOk(v: unknown, t: string): boolean {
  switch (t) {
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array': return Array.isArray(v);
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number';
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'null': return v === null;
    default: throw new Error(`unknown type ${t}`);
  }
}

const equal = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function compileSchema(root: { $defs?: Record<string, Node> }): (value: unknown) => SchemaError[] {
  const resolve = (ref: string): Node => {
    const m = /^#\/\$defs\/(.+)$/.exec(ref);
    const def = m?.[1] !== undefined ? root.$defs?.[m[1]] : undefined;
    if (def === undefined) throw new Error(`unresolved $ref ${ref}`);
    return def;
  };

  /** Errors, and the property names this node evaluated (for unevaluatedProperties). */
  function check(node: Node, v: unknown, path: string): { errors: SchemaError[]; evaluated: Set<string> } {
    const errors: SchemaError[] = [];
    const evaluated = new Set<string>();
    const fail = (keyword: string, at = path): void => { errors.push({ path: at, keyword }); };
    if (node === true) return { errors, evaluated };
    if (node === false) { fail('false'); return { errors, evaluated }; }
    for (const k of Object.keys(node)) if (!KNOWN.has(k)) throw new Error(`json-schema helper: unsupported keyword ${k}`);
    const sub = (n: unknown, val: unknown, p: string): { errors: SchemaError[]; evaluated: Set<string> } => check(n as Node, val, p);
    const merge = (r: { errors: SchemaError[]; evaluated: Set<string> }): void => {
      errors.push(...r.errors);
      for (const e of r.evaluated) evaluated.add(e);
    };
    if (typeof node.$ref === 'string') merge(check(resolve(node.$ref), v, path));
    if (typeof node.type === 'string' && !typeOk(v, node.type)) fail('type');
    if (Array.isArray(node.enum) && !node.enum.some((e) => equal(e, v))) fail('enum');
    if ('const' in node && !equal(node.const, v)) fail('const');
    if (typeof v === 'string') {
      if (typeof node.pattern === 'string' && !new RegExp(node.pattern, 'u').test(v)) fail('pattern');
      if (typeof node.minLength === 'number' && [...v].length < node.minLength) fail('minLength');
    }
    if (typeof v === 'number') {
      if (typeof node.minimum === 'number' && v < node.minimum) fail('minimum');
      if (typeof node.maximum === 'number' && v > node.maximum) fail('maximum');
    }
    if (Array.isArray(v)) {
      if (typeof node.minItems === 'number' && v.length < node.minItems) fail('minItems');
      if (node.items !== undefined) v.forEach((e, i) => errors.push(...sub(node.items, e, `${path}[${i}]`).errors));
    }
    if (typeOk(v, 'object')) {
      const obj = v as Record<string, unknown>;
      if (typeof node.minProperties === 'number' && Object.keys(obj).length < node.minProperties) fail('minProperties');
      if (Array.isArray(node.required)) for (const r of node.required as string[]) if (!(r in obj)) fail('required', `${path}.${r}`);
      const props = (node.properties ?? {}) as Record<string, Node>;
      for (const [k, val] of Object.entries(obj)) {
        if (k in props) { evaluated.add(k); errors.push(...sub(props[k], val, `${path}.${k}`).errors); }
        else if (node.additionalProperties !== undefined) { evaluated.add(k); errors.push(...sub(node.additionalProperties, val, `${path}.${k}`).errors); }
      }
    }
    if (Array.isArray(node.allOf)) for (const n of node.allOf) merge(sub(n, v, path));
    if (Array.isArray(node.anyOf)) {
      const rs = node.anyOf.map((n) => sub(n, v, path));
      const good = rs.filter((r) => r.errors.length === 0);
      if (good.length === 0) fail('anyOf');
      for (const r of good) for (const e of r.evaluated) evaluated.add(e);
    }
    if (Array.isArray(node.oneOf)) {
      const rs = node.oneOf.map((n) => sub(n, v, path));
      const good = rs.filter((r) => r.errors.length === 0);
      if (good.length !== 1) fail('oneOf');
      else for (const e of good[0]?.evaluated ?? []) evaluated.add(e);
    }
    if (node.not !== undefined && sub(node.not, v, path).errors.length === 0) fail('not');
    if (node.if !== undefined) {
      const r = sub(node.if, v, path);
      if (r.errors.length === 0) {
        for (const e of r.evaluated) evaluated.add(e);
        if (node.then !== undefined) merge(sub(node.then, v, path));
      } else if (node.else !== undefined) merge(sub(node.else, v, path));
    }
    if (node.unevaluatedProperties !== undefined && typeOk(v, 'object')) {
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
        if (evaluated.has(k)) continue;
        evaluated.add(k);
        errors.push(...sub(node.unevaluatedProperties, val, `${path}.${k}`).errors);
      }
    }
    return { errors, evaluated };
  }

  return (value) => check(root as Node, value, '$').errors;
}
