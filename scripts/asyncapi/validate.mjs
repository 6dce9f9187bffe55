// Validates an AsyncAPI document with the official parser (@asyncapi/parser, pinned in
// package.json): node scripts/asyncapi/validate.mjs docs/asyncapi.json
// Exits 1 on any diagnostic of severity error or warning, printing each, or when a message's
// example does not match its payload schema (checked with Ajv, the parser's own JSON Schema
// validator): the examples are the project's samples, so this also proves the schemas survived
// their move into the document.
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const path = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, 'utf8'), { source: path });
const severities = ['error', 'warning', 'info', 'hint'];
let failed = !document;
for (const d of diagnostics) {
  const severity = severities[d.severity] ?? String(d.severity);
  if (d.severity <= 1) failed = true;
  if (d.severity <= 1) console.log(`${path}: ${severity} ${d.code} at ${d.path.join('.') || '(root)'}: ${d.message}`);
}
if (document) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const message of document.components().messages()) {
    const validate = ajv.compile(message.payload().json());
    const examples = message.examples().all();
    if (examples.length === 0) {
      console.log(`${path}: message ${message.id()} has no example`);
      failed = true;
    }
    for (const example of examples) {
      if (!validate(example.payload())) {
        console.log(`${path}: message ${message.id()}: example ${example.name()} does not match its payload: ${ajv.errorsText(validate.errors)}`);
        failed = true;
      }
    }
  }
}
if (failed) {
  console.log(`${path}: rejected by @asyncapi/parser`);
  process.exit(1);
}
console.log(`${path}: AsyncAPI ${document.version()} OK (${document.channels().length} channels, ${document.messages().length} messages, ${document.operations().length} operations)`);
