// Validates a DCAT-AP JSON-LD document (the venue's catalogue export) against the official
// DCAT-AP 3.0.0 SHACL shapes, with maintained libraries nobody here wrote: jsonld (to RDF),
// n3 (the Turtle shapes), shacl-engine (the validation).
//
//   node validate.mjs EXPORT.jsonld SHAPES.ttl [MORE.ttl ...]
//
// Prints one line per result (severity, focus node, path, message) and a summary line
// "shacl: N violations, M warnings"; exits 1 when there is a violation.
import { readFile } from 'node:fs/promises'
import rdf from 'rdf-ext'
import jsonld from 'jsonld'
import { Parser } from 'n3'
import { Validator } from 'shacl-engine'

const [exportPath, ...shapePaths] = process.argv.slice(2)
if (!exportPath || shapePaths.length === 0) {
  console.error('usage: node validate.mjs EXPORT.jsonld SHAPES.ttl [MORE.ttl ...]')
  process.exit(2)
}

const data = rdf.dataset()
const doc = JSON.parse(await readFile(exportPath, 'utf8'))
const nquads = await jsonld.toRDF(doc, { format: 'application/n-quads' })
for (const q of new Parser({ format: 'application/n-quads' }).parse(nquads)) data.add(q)

const shapes = rdf.dataset()
for (const p of shapePaths) {
  for (const q of new Parser({ format: 'text/turtle' }).parse(await readFile(p, 'utf8'))) shapes.add(q)
}

const report = await new Validator(shapes, { factory: rdf }).validate({ dataset: data })
let violations = 0
let warnings = 0
const name = term => (term ? term.value : '')
for (const r of report.results) {
  const severity = name(r.severity).split('#').pop()
  if (severity === 'Violation') violations++
  else warnings++
  const path = (r.path || []).map(step => (step.predicates || []).map(name).join('|')).join('/')
  const message = (r.message || []).map(name).join('; ')
  console.log(`${severity}\t${name(r.focusNode)}\t${path}\t${message}`)
}
console.log(`shacl: ${violations} violations, ${warnings} warnings (${data.size} triples)`)
process.exit(violations > 0 ? 1 : 0)
