/**
 * `gantry prune [--keep-storage SIZE] [--filter until=DURATION] [--dry-run]`: frees local build cache (cache
 * records, then blobs and unpacked layers nothing references any more). Images in the data root are kept;
 * nothing a running build uses is touched.
 */
import type { Command } from "commander";
import { pruneCache } from "../../cache/prune.js";
import { parseSize } from "../../cache/settings.js";
import { UsageError } from "../../errors.js";
import { parseDuration } from "../../registry/duration.js";
import { formatBytes } from "../../util/bytes.js";
import { dataRootOf, parseFormat, printJson } from "../global-options.js";

interface PruneCliOptions {
  keepStorage?: string;
  filter: string[];
  dryRun?: boolean;
  format?: string;
}

export function registerPrune(program: Command): void {
  program
    .command("prune")
    .description("remove build cache (least recently used first); images stay")
    .option("--keep-storage <size>", "keep at most this much cached layer data, e.g. 10GB")
    .option(
      "--filter <filter>",
      "until=DURATION: only cache unused for longer, e.g. until=24h; repeatable",
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .option("--dry-run", "report what would be removed")
    .option("--format <format>", "text or json", "text")
    .action(async (opts: PruneCliOptions, cmd: Command) => {
      const format = parseFormat(opts.format);
      let until: number | undefined;
      for (const filter of opts.filter) {
        const [key, value] = filter.split("=", 2);
        if (key !== "until" || value === undefined) {
          throw new UsageError(`unknown --filter ${JSON.stringify(filter)}`, {
            hint: "use --filter until=24h",
          });
        }
        until = parseDuration(value, "--filter until");
      }
      const report = await pruneCache(dataRootOf(cmd), {
        keepStorage:
          opts.keepStorage === undefined ? undefined : parseSize(opts.keepStorage, "--keep-storage"),
        until,
        dryRun: opts.dryRun,
      });
      if (format === "json") return printJson(report);
      const verb = report.dryRun ? "would remove" : "removed";
      process.stdout.write(
        `${verb} ${report.recordsRemoved} cache records, ${report.blobsRemoved} blobs (${formatBytes(report.bytesFreed)}), ${report.snapshotsRemoved} unpacked layers\n` +
          `cache now holds ${report.recordsKept} records, ${formatBytes(report.cacheBytes)} of layers\n`,
      );
    });
}
