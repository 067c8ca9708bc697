/**
 * Runs src/image code in a separate Node process (for crash tests): transpiles src/image/*.ts (and the
 * src/util/*.ts it uses) to plain ESM in a temp directory (TypeScript's transpileModule, no type check)
 * with node_modules linked in.
 */
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Compiles src/errors.ts, src/image/*.ts and src/util/*.ts into `outDir`; returns the compiled image/ dir. */
export async function compileImageModules(outDir: string): Promise<string> {
  const sources = [join("src", "errors.ts")];
  for (const dir of ["image", "util"]) {
    for (const name of await readdir(join(repoRoot, "src", dir))) {
      if (name.endsWith(".ts")) sources.push(join("src", dir, name));
    }
  }
  for (const source of sources) {
    const text = await readFile(join(repoRoot, source), "utf8");
    const output = ts.transpileModule(text, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: source,
    });
    const target = join(outDir, source.replace(/\.ts$/, ".js"));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, output.outputText);
  }
  await writeFile(join(outDir, "package.json"), JSON.stringify({ type: "module" }));
  await symlink(join(repoRoot, "node_modules"), join(outDir, "node_modules"));
  return join(outDir, "src", "image");
}
