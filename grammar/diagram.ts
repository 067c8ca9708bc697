/**
 * Writes grammar/diagram.html: chevrotain's railroad diagram of the structure parser (`npm run
 * grammar:diagram`). The instruction-level syntax is documented in grammar/dockerfile.ebnf.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createSyntaxDiagramsCode } from "chevrotain";
import { dockerfileParser } from "./parser.js";

const here = path.dirname(fileURLToPath(import.meta.url));
// Compiled to dist/grammar/diagram.js; the diagram goes next to the sources.
const target = path.resolve(here, "..", "..", "grammar", "diagram.html");
const html = createSyntaxDiagramsCode(dockerfileParser().getSerializedGastProductions());
writeFileSync(target, html);
console.log(`wrote ${path.relative(process.cwd(), target)}`);
