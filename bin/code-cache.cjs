// Loads the bundled CLI (dist/bundle/, CommonJS) with a V8 code cache, so a command does not compile the
// same ~1 MB of JavaScript on every run: each bundle file is compiled with the cached code of an earlier
// run of the same command (`<bundle>/.code-cache/<command>/<file>.bin`), and a file that had none, or
// whose cache V8 refused (another Node, a rebuilt bundle), gets one written when the process exits —
// after the run, so it holds the functions the command really used. Node 20 has no code cache for ES
// modules, hence CommonJS here. Cache files are written atomically (temp, rename); a cache that cannot
// be read or written is simply not used.
"use strict";
const Module = require("node:module");
const vm = require("node:vm");
const fs = require("node:fs");
const path = require("node:path");

/** Runs `main(argv)` of the bundle at `entry`, compiling the bundle's files through the code cache. */
exports.runBundled = function runBundled(entry, argv, command) {
  const bundleDir = path.dirname(entry);
  const cacheDir = path.join(bundleDir, ".code-cache", /^[a-z-]+$/.test(command) ? command : "other");
  const pending = [];
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileWithCache(content, filename) {
    if (!filename.startsWith(bundleDir + path.sep)) return compile.call(this, content, filename);
    const cacheFile = path.join(
      cacheDir,
      `${path.relative(bundleDir, filename).replaceAll(path.sep, "_")}.bin`,
    );
    let cachedData;
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
    const script = new vm.Script(Module.wrap(content), {
      filename,
      cachedData,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if (cachedData === undefined || script.cachedDataRejected) pending.push({ script, cacheFile });
    const wrapper = script.runInThisContext({ displayErrors: true });
    const require = Module.createRequire(filename);
    return wrapper.call(this.exports, this.exports, require, this, filename, path.dirname(filename));
  };
  process.on("exit", () => {
    for (const { script, cacheFile } of pending) {
      const temp = `${cacheFile}.${process.pid}.tmp`;
      try {
        fs.mkdirSync(cacheDir, { recursive: true });
        fs.writeFileSync(temp, script.createCachedData());
        fs.renameSync(temp, cacheFile);
      } catch {
        fs.rmSync(temp, { force: true });
      }
    }
  });
  return require(entry).main(argv);
};
