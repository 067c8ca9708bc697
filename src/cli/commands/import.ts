/**
 * `gantry import ROOTFS REF`: turns a root filesystem (a directory, or a tar, optionally gzip/zstd) into
 * a one-layer image in the data root: one streaming pass writes the layer (diffID + digest), then the
 * config (with `--change` instructions applied) and the manifest are written and REF's repository is
 * tagged (host dropped, `busybox` → `library/busybox`). Prints the manifest digest and size.
 */
import { arch } from "node:os";
import type { Command } from "commander";
import { Option } from "commander";
import { UsageError } from "../../errors.js";
import { ContentStore } from "../../image/content-store.js";
import { readSourceDateEpoch, writeImage } from "../../image/image-builder.js";
import { parseCompression } from "../../image/layer/compress.js";
import { writeLayer } from "../../image/layer/layer-writer.js";
import { openRootfs } from "../../image/layer/rootfs-source.js";
import type { ContainerConfig, Platform } from "../../image/oci-types.js";
import { formatImageReference, parseImageReference } from "../../image/reference.js";
import { FsRepositoryStore } from "../../image/repository-store.js";
import { dataRootOf, parseFormat, printJson } from "../global-options.js";

interface ImportOptions {
  platform?: string;
  change: string[];
  compression: string;
  compressionLevel?: string;
  format?: string;
}

export function registerImport(program: Command): void {
  program
    .command("import")
    .description("import a root filesystem (directory or tar[.gz|.zst]) as a one-layer image")
    .argument("<rootfs>", "directory or tar file holding the root filesystem")
    .argument("<ref>", "image reference, e.g. localhost/gantry/busybox:latest or busybox:1")
    .option("--platform <os/arch[/variant]>", "platform of the image (default: this host's, linux)")
    .option(
      "-c, --change <instruction>",
      "apply a Dockerfile instruction to the config (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL); repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .addOption(
      new Option("--compression <kind>", "layer compression").choices(["gzip", "zstd"]).default("gzip"),
    )
    .option("--compression-level <n>", "compression level (gzip 1-9, zstd 1-19)")
    .option("--format <format>", "output format: text or json", "text")
    .action(async (rootfs: string, ref: string, opts: ImportOptions, cmd: Command) => {
      await runImport(rootfs, ref, opts, cmd);
    });
}

async function runImport(rootfs: string, ref: string, opts: ImportOptions, cmd: Command): Promise<void> {
  const format = parseFormat(opts.format);
  const reference = parseImageReference(ref);
  if (reference.tag === undefined) {
    throw new UsageError(`cannot import into a digest reference: ${ref}`, { hint: "give a tag, e.g. app:1" });
  }
  const platform = parsePlatform(opts.platform);
  const config = applyChanges({}, opts.change);
  const compression = parseCompression(opts.compression);
  const level = parseLevel(opts.compressionLevel);
  const sourceDateEpoch = readSourceDateEpoch();

  const root = dataRootOf(cmd);
  const blobs = await ContentStore.open(root);
  const repositories = await FsRepositoryStore.open(root);
  const source = await openRootfs(rootfs, {
    tempPath: (label) => blobs.newIngestPath(label),
    onSkip: (path, reason) => process.stderr.write(`warning: skipped ${path}: ${reason}\n`),
  });
  let layer: Awaited<ReturnType<typeof writeLayer>>;
  try {
    layer = await writeLayer(blobs, source.entries, { compression, level, clampMtime: sourceDateEpoch });
  } finally {
    await source.cleanup();
  }
  const image = await writeImage(blobs, repositories, {
    repository: reference.repository,
    tag: reference.tag,
    platform,
    config,
    sourceDateEpoch,
    layers: [{ ...layer, createdBy: "gantry import", comment: `imported from a ${source.kind}` }],
  });

  if (format === "json") {
    printJson({
      digest: image.manifest.digest,
      mediaType: image.manifest.mediaType,
      size: image.manifest.size,
      repository: image.repository,
      tag: image.tag,
      reference: formatImageReference(reference),
      config: image.config,
      layers: [
        {
          digest: layer.digest,
          mediaType: layer.mediaType,
          size: layer.size,
          diffId: layer.diffId,
          uncompressedSize: layer.uncompressedSize,
          entries: layer.entries,
        },
      ],
    });
    return;
  }
  const out = process.stdout;
  out.write(`${image.manifest.digest}\n`);
  out.write(`  size        ${image.manifest.size}\n`);
  out.write(`  repository  ${image.repository}:${image.tag}\n`);
  out.write(`  layer       ${layer.digest} (${layer.size} bytes, ${layer.entries} entries)\n`);
  out.write(`  diffID      ${layer.diffId} (${layer.uncompressedSize} bytes)\n`);
}

const ARCHITECTURES: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };

export function parsePlatform(value: string | undefined): Platform {
  if (value === undefined) return { architecture: ARCHITECTURES[arch()] ?? arch(), os: "linux" };
  const parts = value.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => !/^[a-z0-9._-]+$/.test(part))) {
    throw new UsageError(`invalid --platform ${JSON.stringify(value)}`, { hint: "use os/arch[/variant]" });
  }
  const platform: Platform = { architecture: parts[1]!, os: parts[0]! };
  if (parts[2] !== undefined) platform.variant = parts[2];
  return platform;
}

function parseLevel(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const level = Number(value);
  if (!Number.isInteger(level) || level < 1 || level > 19) {
    throw new UsageError(`invalid --compression-level ${JSON.stringify(value)}`, {
      hint: "1-9 for gzip, 1-19 for zstd",
    });
  }
  return level;
}

/** Applies `--change` instructions, in order, to a container config. */
export function applyChanges(base: ContainerConfig, changes: readonly string[]): ContainerConfig {
  const config: ContainerConfig = { ...base };
  for (const change of changes) {
    const match = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(change);
    if (!match) throw changeError(change, "expected INSTRUCTION ARGUMENTS");
    const keyword = match[1]!.toUpperCase();
    const args = (match[2] ?? "").trim();
    if (args === "") throw changeError(change, `${keyword} needs arguments`);
    switch (keyword) {
      case "CMD":
        config.Cmd = commandForm(change, args);
        break;
      case "ENTRYPOINT":
        config.Entrypoint = commandForm(change, args);
        break;
      case "ENV": {
        const env = [...(config.Env ?? [])];
        for (const [key, value] of keyValues(change, args, true)) {
          const at = env.findIndex((item) => item.startsWith(`${key}=`));
          if (at >= 0) env[at] = `${key}=${value}`;
          else env.push(`${key}=${value}`);
        }
        config.Env = env;
        break;
      }
      case "LABEL": {
        const labels = { ...(config.Labels ?? {}) };
        for (const [key, value] of keyValues(change, args, false)) labels[key] = value;
        config.Labels = labels;
        break;
      }
      case "WORKDIR":
        config.WorkingDir = args;
        break;
      case "USER":
        config.User = args;
        break;
      case "STOPSIGNAL":
        config.StopSignal = args;
        break;
      case "EXPOSE": {
        const ports = { ...(config.ExposedPorts ?? {}) };
        for (const word of args.split(/\s+/)) {
          const port = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(word);
          if (!port || Number(port[1]) > 65535)
            throw changeError(change, `invalid port ${JSON.stringify(word)}`);
          ports[`${port[1]}/${(port[2] ?? "tcp").toLowerCase()}`] = {};
        }
        config.ExposedPorts = ports;
        break;
      }
      case "VOLUME": {
        const volumes = { ...(config.Volumes ?? {}) };
        const paths = args.startsWith("[") ? jsonArray(change, args) : args.split(/\s+/);
        for (const path of paths) volumes[path] = {};
        config.Volumes = volumes;
        break;
      }
      default:
        throw changeError(change, `unsupported instruction ${keyword}`);
    }
  }
  return config;
}

function changeError(change: string, reason: string): UsageError {
  return new UsageError(`invalid --change ${JSON.stringify(change)}: ${reason}`, {
    hint: 'e.g. --change \'CMD ["sh"]\' --change "ENV PATH=/bin" --change "EXPOSE 80/tcp"',
  });
}

/** Exec form (JSON array) as is; shell form wrapped in `/bin/sh -c`. */
function commandForm(change: string, args: string): string[] {
  if (args.startsWith("[")) return jsonArray(change, args);
  return ["/bin/sh", "-c", args];
}

function jsonArray(change: string, args: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw changeError(change, "not a valid JSON array");
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
    throw changeError(change, "expected a JSON array of strings");
  }
  return parsed as string[];
}

/** `k=v k2="v 2"` pairs (quotes and backslashes as in a shell word); ENV also accepts legacy `k v`. */
function keyValues(change: string, args: string, allowLegacy: boolean): Array<[string, string]> {
  const words = shellWords(change, args);
  if (allowLegacy && words.length > 0 && !words[0]!.includes("=")) {
    const space = args.search(/\s/);
    if (space < 0) throw changeError(change, "ENV needs KEY=VALUE or KEY VALUE");
    return [[args.slice(0, space), args.slice(space).trim()]];
  }
  return words.map((word) => {
    const eq = word.indexOf("=");
    if (eq <= 0) throw changeError(change, `expected KEY=VALUE, got ${JSON.stringify(word)}`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

function shellWords(change: string, text: string): string[] {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
    } else if (ch === "\\" && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote !== undefined) throw changeError(change, "unterminated quote");
  if (inWord) words.push(current);
  return words;
}
