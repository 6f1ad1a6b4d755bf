// src/types.ts is generated from the hub's OpenAPI document (`hearthd openapi`, the same
// document /api/openapi.json serves) by openapi-typescript, then formatted by Prettier.
// `node scripts/types.mjs` writes it; `--check` fails when the committed file is stale.
//
// HEARTHD names the binary (default: target/debug/hearthd of this repository).

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import * as prettier from 'prettier';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const out = fileURLToPath(new URL('../src/types.ts', import.meta.url));
const hearthd = process.env.HEARTHD ?? join(repo, 'target/debug/hearthd');

const header = `// Wire types of the hub's API, generated from its OpenAPI document by \`npm run types\`
// (scripts/types.mjs). Do not edit: change the Rust types and regenerate.

`;

const doc = JSON.parse(execFileSync(hearthd, ['openapi'], { encoding: 'utf8' }));
const ast = await openapiTS(doc, { rootTypes: true, rootTypesNoSchemaPrefix: true });
const options = { ...(await prettier.resolveConfig(out)), filepath: out };
const text = await prettier.format(header + astToString(ast), options);

if (process.argv.includes('--check')) {
  if (readFileSync(out, 'utf8') !== text) {
    console.error('ui/src/types.ts is stale: the API changed. Run `npm run types` in ui/ and commit it.');
    process.exit(1);
  }
  console.log('ui/src/types.ts matches the API document');
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
