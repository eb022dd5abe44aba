// ONNX Runtime's side of bench/run.py's inference table: the seed network exported by digitnet
// (digitnet_bench --serving DIR writes DIR/model.onnx and the test images), run in-process by
// onnxruntime-node with its default session options, timed as digitnet_bench times digitnet:
//   node bench/onnx_bench.mjs DIR
// all 10,000 images at once (best of 7), one at a time back to back, and one at a time 2 ms
// apart (each call's latency). Writes DIR/onnxruntime.f32 (the probabilities), prints JSON.
// onnxruntime-node comes from tests/data/onnx (npm ci --ignore-scripts there).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const modules = new URL("../tests/data/onnx/package.json", import.meta.url);
const ort = createRequire(modules)("onnxruntime-node");
const version = JSON.parse(
  readFileSync(new URL("../tests/data/onnx/node_modules/onnxruntime-node/package.json", import.meta.url))).version;

const dir = process.argv[2];
const F = 784;
const bytes = readFileSync(`${dir}/test.f32`);
const pixels = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const N = pixels.length / F;
const session = await ort.InferenceSession.create(`${dir}/model.onnx`);  // default options, as a user runs it
const now = () => Number(process.hrtime.bigint()) / 1e9;
const one = (i) => session.run({ input: new ort.Tensor("float32", pixels.subarray(i * F, (i + 1) * F), [1, F]) });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let best = 1e9, probs;
for (let rep = 0; rep < 8; ++rep) {  // the first is a warm-up
  const t = now();
  const r = await session.run({ input: new ort.Tensor("float32", pixels, [N, F]) });
  if (rep > 0) best = Math.min(best, now() - t);
  probs = r.probabilities.data;
}
let t = now();
for (let i = 0; i < N; ++i) await one(i);
const batch1 = now() - t;
const lat = [];
for (let i = 0; i < 300; ++i) {
  await sleep(2);
  t = now();
  await one(i);
  lat.push((now() - t) * 1e6);
}
const first = lat[0];
lat.sort((a, b) => a - b);
writeFileSync(`${dir}/onnxruntime.f32`, Buffer.from(probs.buffer, probs.byteOffset, probs.byteLength));
console.log(JSON.stringify({
  name: `ONNX Runtime ${version} (onnxruntime-node, default options)`,
  batch10000_seconds: best,
  batch1_seconds: batch1,
  latency_us: { median: lat[150], p90: lat[270], first },
}));
