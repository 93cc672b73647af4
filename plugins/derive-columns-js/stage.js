// `derive-columns`: an lfhost transform stage, written in JavaScript, that
// appends string columns derived from its input's: the concatenation of
// several columns, or the domain of an e-mail address.
//
// Built into a component with jco / componentize-js (see README.md). There
// is no Arrow library here: batches are read and written through the host's
// `columns` interface as plain arrays (`undefined` is null).

import { decode, emit, makeSchema, schemaFields } from 'lfhost:plugin/columns@0.1.3';
import { addCounter } from 'lfhost:plugin/host@0.1.3';

const NAME = 'derive-columns';
const VERSION = '0.1.0';
const ENTRY_KEYS = ['name', 'concat', 'separator', 'domain_of'];

// componentize-js returns a thrown value that is not an `Error` as the
// `err` of a `result<_, error>` export, so a stage error is thrown as the
// WIT variant itself ({ tag, val }); a thrown `Error` would trap instead.
function optionError(path, message) {
  return { tag: 'invalid-option', val: { path, message } };
}

// An import returning `result<_, string>` throws its `err` as an Error whose
// `payload` is the string.
function reason(e) {
  return e && typeof e === 'object' && 'payload' in e ? String(e.payload) : String(e);
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

function inputFields(inputs) {
  if (inputs.length !== 1) {
    throw { tag: 'internal', val: `${NAME} takes exactly one input, got ${inputs.length}` };
  }
  try {
    return schemaFields(inputs[0].schema);
  } catch (e) {
    throw { tag: 'invalid-data', val: `input \`${inputs[0].name}\`: ${reason(e)}` };
  }
}

// Checks the options against the input's fields and returns the derived
// columns as [{ name, concat: [..], separator } | { name, domainOf }].
// Throws the first problem, its path pointing at the TOML key.
function parseOptions(text, fields) {
  let options;
  try {
    options = JSON.parse(text);
  } catch (e) {
    throw optionError('', `not a JSON object: ${e.message}`);
  }
  if (!isObject(options)) throw optionError('', 'must be a table');
  for (const key of Object.keys(options)) {
    if (key !== 'columns') throw optionError(key, `unknown option \`${key}\`; expected \`columns\``);
  }
  const list = options.columns;
  if (!Array.isArray(list) || list.length === 0) {
    throw optionError('columns', 'required: a list of { name, concat = [...] } or { name, domain_of = "..." }');
  }

  const types = new Map(fields.map((f) => [f.name, f.type]));
  const names = fields.map((f) => f.name).join(', ');
  // A source must be an input string column: derived columns do not see
  // each other, and numbers would need a formatting rule.
  const source = (path, column) => {
    if (typeof column !== 'string') throw optionError(path, 'must be a column name (a string)');
    const type = types.get(column);
    if (type === undefined) throw optionError(path, `no column \`${column}\` in the input; its columns are ${names}`);
    if (type !== 'utf8') throw optionError(path, `column \`${column}\` is ${type}; only utf8 (string) columns can be used`);
    return column;
  };

  const taken = new Set(types.keys());
  return list.map((entry, i) => {
    const at = `columns.${i}`;
    if (!isObject(entry)) throw optionError(at, 'must be a table { name, concat = [...] } or { name, domain_of = "..." }');
    for (const key of Object.keys(entry)) {
      if (!ENTRY_KEYS.includes(key)) throw optionError(`${at}.${key}`, `unknown key \`${key}\`; expected one of ${ENTRY_KEYS.join(', ')}`);
    }
    const { name } = entry;
    if (typeof name !== 'string' || name === '') throw optionError(`${at}.name`, 'required: the new column\'s name');
    if (taken.has(name)) {
      const what = types.has(name) ? 'an input column' : 'an earlier derived column';
      throw optionError(`${at}.name`, `\`${name}\` is already ${what}`);
    }
    taken.add(name);

    const hasConcat = 'concat' in entry;
    if (hasConcat === ('domain_of' in entry)) {
      throw optionError(at, 'needs exactly one of `concat` and `domain_of`');
    }
    if (!hasConcat) {
      if ('separator' in entry) throw optionError(`${at}.separator`, 'applies only to `concat`');
      return { name, domainOf: source(`${at}.domain_of`, entry.domain_of) };
    }
    const { concat, separator = ' ' } = entry;
    if (!Array.isArray(concat) || concat.length === 0) throw optionError(`${at}.concat`, 'must be a non-empty list of column names');
    if (typeof separator !== 'string') throw optionError(`${at}.separator`, 'must be a string');
    return { name, concat: concat.map((c, j) => source(`${at}.concat.${j}`, c)), separator };
  });
}

// The value of one derived column for every row; `undefined` is null.
function derive(spec, byName, rows) {
  if (spec.domainOf !== undefined) {
    return byName.get(spec.domainOf).map((v) => {
      const at = v === undefined ? -1 : v.lastIndexOf('@');
      return at < 0 ? undefined : v.slice(at + 1).toLowerCase();
    });
  }
  const parts = spec.concat.map((c) => byName.get(c));
  const out = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const present = [];
    for (const values of parts) if (values[r] !== undefined) present.push(values[r]);
    out[r] = present.length === 0 ? undefined : present.join(spec.separator);
  }
  return out;
}

class Flow {
  constructor(derived) {
    this.derived = derived;
  }

  static open(options, inputs, _context) {
    // The host plans before it opens, but a flow must not trust that.
    return new Flow(parseOptions(options, inputFields(inputs)));
  }

  ingest(_file) {
    throw { tag: 'internal', val: `${NAME} is a transform stage: it does not ingest files` };
  }

  push(input, batch) {
    let cols;
    try {
      cols = decode(batch);
    } catch (e) {
      throw { tag: 'invalid-data', val: `input \`${input}\`: ${reason(e)}` };
    }
    const byName = new Map(cols.filter((c) => c.values.tag === 'utf8').map((c) => [c.name, c.values.val]));
    const rows = cols.length === 0 ? 0 : cols[0].values.val.length;
    let nonNull = 0;
    for (const spec of this.derived) {
      const values = derive(spec, byName, rows);
      nonNull += values.filter((v) => v !== undefined).length;
      cols.push({ name: spec.name, values: { tag: 'utf8', val: values } });
    }
    try {
      emit('main', cols);
    } catch (e) {
      throw { tag: 'internal', val: `the host refused the output batch: ${reason(e)}` };
    }
    addCounter('derived_values', BigInt(nonNull)); // s64 is a BigInt in JS
  }

  finish() {
    // every batch is emitted as it arrives
  }
}

function describe() {
  return {
    name: NAME,
    version: VERSION,
    description: 'Appends string columns derived from the input\'s: concatenations and e-mail domains.',
    kind: 'transform',
    options: [
      {
        name: 'columns',
        typeName: 'list<{ name, concat = list<column>, separator = string } | { name, domain_of = column }>',
        required: true,
        defaultValue: undefined,
        description:
          'New utf8 columns, appended after the input\'s in this order. concat joins the non-null values of ' +
          'input string columns with separator (default " "; null when all are null). domain_of is the text ' +
          'after the last @ of an input string column, lowercased (null without an @).',
      },
    ],
  };
}

function plan(options, inputs) {
  const fields = inputFields(inputs);
  const derived = parseOptions(options, fields);
  const out = [...fields, ...derived.map((d) => ({ name: d.name, type: 'utf8', nullable: true }))];
  let schema;
  try {
    schema = makeSchema(out);
  } catch (e) {
    throw { tag: 'internal', val: `the host could not make the output schema: ${reason(e)}` };
  }
  return [{ name: 'main', schema }];
}

// The exported `stage` interface: its functions and its `flow` resource
// (a class with a static `open`), under their camelCase names.
export const stage = { describe, plan, Flow };
