/**
 * Build outputs (`--output`, `--push`) after the image is in the data root: `image` (the default: the tags
 * in the data root, served by the embedded registry), `registry` (push every -t, or `name=`, to its
 * registry), `oci` / `docker` (an archive file), `local` (the image's filesystem written to a directory).
 */
import { mkdir } from "node:fs/promises";
import { UsageError } from "../errors.js";
import { type ProgressSink, startVertex } from "../executor/progress.js";
import { ContentStore } from "../image/content-store.js";
import { extractLayer } from "../image/layer/extract.js";
import { parseImageReference } from "../image/reference.js";
import type { BuildResult } from "./index.js";

export interface OutputSpec {
  type: "image" | "registry" | "oci" | "docker" | "local";
  dest?: string;
  /** References for image/registry outputs (comma-separated in the spec as `name=a,name=b` or `name=a`). */
  names?: string[];
  push?: boolean;
  /** type=oci: false writes an OCI layout directory instead of a tar. */
  tar?: boolean;
}

/** `type=oci,dest=out.tar`, `type=registry,name=host/app:1`, or a bare path (= type=local,dest=PATH). */
export function parseOutputSpec(value: string): OutputSpec {
  if (!value.includes("=")) return { type: "local", dest: value };
  const fields = new Map<string, string>();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0)
      throw new UsageError(`invalid --output ${JSON.stringify(value)}`, {
        hint: "use type=TYPE[,dest=PATH]",
      });
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const type = fields.get("type") ?? "local";
  if (!["image", "registry", "oci", "docker", "local", "tar"].includes(type)) {
    throw new UsageError(`unknown output type ${JSON.stringify(type)}`, {
      hint: "use image, registry, oci, docker or local",
    });
  }
  const spec: OutputSpec = { type: type === "tar" ? "oci" : (type as OutputSpec["type"]) };
  const dest = fields.get("dest");
  if (dest !== undefined) spec.dest = dest;
  const name = fields.get("name");
  if (name !== undefined) spec.names = name.split(/[,\s]+/).filter(Boolean);
  if (fields.get("push") === "true") spec.push = true;
  if (fields.get("tar") === "false") spec.tar = false;
  if ((spec.type === "oci" || spec.type === "docker" || spec.type === "local") && spec.dest === undefined) {
    throw new UsageError(`--output type=${spec.type} needs dest=PATH`);
  }
  return spec;
}

export interface DeliverOptions {
  tags: string[];
  insecure?: boolean;
  progress: ProgressSink;
}

/** Delivers every output; returns one line per delivered output for the summary. */
export async function deliverOutputs(
  root: string,
  result: BuildResult,
  outputs: OutputSpec[],
  options: DeliverOptions,
): Promise<string[]> {
  const lines: string[] = [];
  for (const output of outputs) {
    const name =
      output.type === "registry" || output.push
        ? "pushing image"
        : `exporting to ${output.type}${output.dest ? ` ${output.dest}` : ""}`;
    const vertex = startVertex(options.progress, `export:${output.type}:${output.dest ?? ""}`, name);
    try {
      lines.push(...(await deliver(root, result, output, options)));
      vertex.done();
    } catch (error) {
      vertex.fail(error);
      throw error;
    }
  }
  return lines;
}

async function deliver(
  root: string,
  result: BuildResult,
  output: OutputSpec,
  options: DeliverOptions,
): Promise<string[]> {
  const names = output.names ?? options.tags;
  if (output.type === "registry" || (output.type === "image" && output.push)) {
    const pushable = names.filter((name) => parseImageReference(name).explicitDomain);
    if (pushable.length === 0) {
      throw new UsageError("nothing to push: no -t names a registry host", {
        hint: "tag the image as HOST[:PORT]/REPO:TAG, e.g. -t 127.0.0.1:5000/app:1",
      });
    }
    const { pushImage } = await import("../client/index.js");
    const lines: string[] = [];
    for (const name of pushable) {
      const ref = parseImageReference(name);
      // Every -t is already stored under its repository (host dropped); `localhost/` keeps the path as is.
      const source = `localhost/${ref.repository}${ref.tag === undefined ? `@${result.digest}` : `:${ref.tag}`}`;
      const pushed = await pushImage({ root, source, destination: name, insecure: options.insecure });
      lines.push(`pushed ${name}@${pushed.digest}`);
    }
    return lines;
  }
  if (output.type === "oci" || output.type === "docker") {
    return [await exportArchive(root, result, output, names)];
  }
  if (output.type === "local") {
    const blobs = await ContentStore.open(root);
    await mkdir(output.dest!, { recursive: true });
    for (const layer of result.layers) {
      await extractLayer(await blobs.openRead(layer.digest), output.dest!, { whiteouts: "apply" });
    }
    return [`filesystem in ${output.dest}`];
  }
  return [];
}

/** type=oci (a tar, or a layout directory with tar=false) and type=docker (what `docker load` reads). */
async function exportArchive(
  root: string,
  result: BuildResult,
  output: OutputSpec,
  names: string[],
): Promise<string> {
  const format = output.type === "docker" ? "docker" : output.tar === false ? "oci-layout" : "oci";
  // Read straight from the content store by manifest: no repository link or registry client needed. The
  // archive writers (and the document schemas they validate with) load only for this output.
  const { writeArchive } = await import("../image/archive/index.js");
  await writeArchive({ root, format, manifest: result.manifest, file: output.dest!, names });
  const transport = format === "docker" ? "docker-archive" : format === "oci-layout" ? "oci" : "oci-archive";
  return `${transport}:${output.dest}${names[0] === undefined ? "" : `:${names[0]}`}`;
}
