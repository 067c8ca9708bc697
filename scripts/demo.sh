#!/usr/bin/env bash
# The README's main job: builds examples/hello-multistage (3 stages, RUN with a cache mount, heredoc RUN,
# COPY --from) on a busybox base image made from Debian's busybox-static, pushes it to Gantry's embedded
# registry, pulls it back into a second data root, runs it with runc, then builds again to show every step
# CACHED with the same digest. Everything lives under $GANTRY_DEMO_DIR (default /var/tmp/gantry-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DEMO=${GANTRY_DEMO_DIR:-/var/tmp/gantry-demo}
BUILD_ROOT=$DEMO/root          # the builder's data root, served by the embedded registry
PULL_ROOT=$DEMO/pulled         # a second data root that pulls the image back over HTTP
gantry() { node "$REPO/bin/gantry" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[ -f dist/src/cli/main.js ] || npm run build --silent
mkdir -p "$DEMO"
rm -rf "$PULL_ROOT"

step "1. base image: busybox-static → localhost/gantry/busybox:latest"
bash scripts/make-busybox-rootfs.sh "$DEMO/busybox-rootfs" >/dev/null
SOURCE_DATE_EPOCH=1700000000 gantry --root "$BUILD_ROOT" import "$DEMO/busybox-rootfs" localhost/gantry/busybox:latest

step "2. embedded registry on 127.0.0.1 (serving $BUILD_ROOT)"
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# node itself in the background (not the gantry function, whose subshell would be what $! names), so the
# EXIT trap stops the registry and not only a shell around it.
node "$REPO/bin/gantry" --root "$BUILD_ROOT" registry serve --listen "127.0.0.1:$PORT" >"$DEMO/registry.log" 2>&1 &
REGISTRY_PID=$!
trap 'kill $REGISTRY_PID 2>/dev/null || true' EXIT
node -e 'const u=process.argv[1];(async()=>{for(let i=0;i<100;i++){try{if((await fetch(u)).ok)return}catch{}await new Promise(r=>setTimeout(r,100))}process.exit(1)})()' "http://127.0.0.1:$PORT/v2/"
echo "registry pid $REGISTRY_PID at http://127.0.0.1:$PORT/v2/"
IMAGE=127.0.0.1:$PORT/demo/hello:1

step "3. build examples/hello-multistage and push it to $IMAGE"
gantry --root "$BUILD_ROOT" build examples/hello-multistage -t "$IMAGE" --push --progress auto \
  --metadata-file "$DEMO/metadata.json"
DIGEST=$(node -e 'console.log(require(process.argv[1])["containerimage.digest"])' "$DEMO/metadata.json")

step "4. pull it back into a fresh data root over HTTP"
gantry --root "$PULL_ROOT" pull "$IMAGE"
gantry --root "$PULL_ROOT" images

step "5. run it"
gantry --root "$PULL_ROOT" run "$IMAGE" demo

step "6. build again: every step CACHED, same digest"
gantry --root "$BUILD_ROOT" build examples/hello-multistage -t "$IMAGE" --progress auto --metadata-file "$DEMO/metadata2.json"
DIGEST2=$(node -e 'console.log(require(process.argv[1])["containerimage.digest"])' "$DEMO/metadata2.json")

step "summary"
echo "image     $IMAGE"
echo "digest    $DIGEST"
if [ "$DIGEST" = "$DIGEST2" ]; then echo "rebuild   identical digest (fully cached)"; else echo "rebuild   DIGEST CHANGED: $DIGEST2"; exit 1; fi
gantry --root "$PULL_ROOT" inspect "$IMAGE" --format json | node -e '
  let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);
  const layers=j.manifest.layers;console.log(`layers    ${layers.length}, ${layers.reduce((a,l)=>a+l.size,0)} bytes compressed`);
  console.log(`config    Entrypoint=${JSON.stringify(j.config.config.Entrypoint)} Cmd=${JSON.stringify(j.config.config.Cmd)} User=${j.config.config.User}`);})'
