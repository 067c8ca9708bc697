/**
 * `gantry push SRC [DEST]`, `gantry pull REF` and `gantry copy SRC DEST`: image transfer between the data
 * root, registries (`docker://`), OCI layout directories and tars, and Docker archives, with progress on
 * stderr (bars on a terminal, plain lines otherwise) and the resulting digest on stdout.
 */
import type { Command } from "commander";
import { copyImage } from "../../client/copy.js";
import { pullImage, pushImage } from "../../client/image-transfer.js";
import { createProgressRenderer, type ProgressRenderer } from "../../client/progress.js";
import type { RegistryClient } from "../../client/registry-client.js";
import {
  formatAddress,
  openDestination,
  openSource,
  parseImageAddress,
} from "../../client/transports/address.js";
import { parsePlatform } from "../../image/platform.js";
import { dataRootOf, parseFormat, printJson } from "../global-options.js";

interface TransferOptions {
  insecure?: boolean;
  platform?: string;
  all?: boolean;
  quiet?: boolean;
  format?: string;
}

function progressFor(opts: TransferOptions): ProgressRenderer | undefined {
  return opts.quiet ? undefined : createProgressRenderer();
}

export function registerTransport(program: Command): void {
  program
    .command("push")
    .description("push a local image to a registry")
    .argument("<src>", "local image, e.g. app:1 or 127.0.0.1:5000/team/app:1")
    .argument("[dest]", "registry reference (default: SRC, which then names the registry)")
    .option("--insecure", "allow plain HTTP or unverified TLS for a registry that is not on loopback")
    .option("-q, --quiet", "no progress output")
    .option("--format <format>", "output format: text or json", "text")
    .action(async (src: string, dest: string | undefined, opts: TransferOptions, cmd: Command) => {
      const format = parseFormat(opts.format);
      const progress = progressFor(opts);
      try {
        const pushed = await pushImage({
          root: dataRootOf(cmd),
          source: src,
          destination: dest,
          insecure: opts.insecure,
          onProgress: progress?.listener,
        });
        progress?.finish();
        if (format === "json")
          printJson({ digest: pushed.digest, size: pushed.size, destination: dest ?? src });
        else process.stdout.write(`${pushed.digest}\n`);
      } finally {
        progress?.finish();
      }
    });

  program
    .command("pull")
    .description("pull an image from a registry into the data root")
    .argument("<ref>", "image reference, e.g. busybox:1 or 127.0.0.1:5000/team/app:1")
    .option(
      "--platform <os/arch[/variant]>",
      "platform to pick from a multi-platform image (default: this host)",
    )
    .option("--insecure", "allow plain HTTP or unverified TLS for a registry that is not on loopback")
    .option("-q, --quiet", "no progress output")
    .option("--format <format>", "output format: text or json", "text")
    .action(async (ref: string, opts: TransferOptions, cmd: Command) => {
      const format = parseFormat(opts.format);
      const platform = parsePlatform(opts.platform);
      const progress = progressFor(opts);
      try {
        const pulled = await pullImage({
          root: dataRootOf(cmd),
          ref,
          platform,
          insecure: opts.insecure,
          onProgress: progress?.listener,
        });
        progress?.finish();
        if (format === "json") printJson({ ...pulled, digest: pulled.manifestDigest });
        else {
          const name = `${pulled.repository}${pulled.tag ? `:${pulled.tag}` : ""}`;
          process.stdout.write(`${pulled.manifestDigest}\n${name}\n`);
        }
      } finally {
        progress?.finish();
      }
    });

  program
    .command("copy")
    .description(
      "copy an image between transports: docker://HOST/REPO:TAG, oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF], or a local REF",
    )
    .argument("<src>", "source address")
    .argument("<dest>", "destination address")
    .option("--platform <os/arch[/variant]>", "copy only this platform's image of a multi-platform source")
    .option("--all", "copy every platform of a multi-platform source (default: this host's only)")
    .option("--insecure", "allow plain HTTP or unverified TLS for registries that are not on loopback")
    .option("-q, --quiet", "no progress output")
    .option("--format <format>", "output format: text or json", "text")
    .action(async (src: string, dest: string, opts: TransferOptions, cmd: Command) => {
      const format = parseFormat(opts.format);
      const from = parseImageAddress(src);
      const to = parseImageAddress(dest);
      const clients: RegistryClient[] = [];
      const ctx = { root: dataRootOf(cmd), insecure: opts.insecure, clients };
      const source = await openSource(from, ctx);
      const { destination, tag } = await openDestination(to, ctx);
      const progress = progressFor(opts);
      try {
        const result = await copyImage(source, destination, {
          tag,
          platform: opts.all ? undefined : parsePlatform(opts.platform),
          onProgress: progress?.listener,
        });
        progress?.finish();
        if (format === "json") {
          printJson({
            digest: result.manifest.digest,
            mediaType: result.manifest.mediaType,
            size: result.manifest.size,
            source: formatAddress(from),
            destination: formatAddress(to),
          });
        } else process.stdout.write(`${result.manifest.digest}\n`);
      } finally {
        progress?.finish();
        await source.close();
        await destination.close();
        await Promise.all(clients.map((c) => c.close()));
      }
    });
}
