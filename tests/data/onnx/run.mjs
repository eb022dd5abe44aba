// Runs an ONNX model in ONNX Runtime (CPU) on raw float32 input rows and writes its outputs:
//   node run.mjs MODEL.onnx INPUT.f32 FEATURES OUT_PREFIX
// reads INPUT.f32 (rows x FEATURES float32, little-endian), writes OUT_PREFIX.probabilities.f32
// and OUT_PREFIX.label.i64, and prints the model's inputs, outputs and metadata as JSON.
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

const [model, input, features, out] = process.argv.slice(2);
const bytes = readFileSync(input);
const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const F = Number(features);
const session = await ort.InferenceSession.create(model);  // default options, as a user runs it
const result = await session.run({ input: new ort.Tensor("float32", values, [values.length / F, F]) });
const probs = result.probabilities, label = result.label;
writeFileSync(`${out}.probabilities.f32`, Buffer.from(probs.data.buffer, probs.data.byteOffset, probs.data.byteLength));
writeFileSync(`${out}.label.i64`, Buffer.from(label.data.buffer, label.data.byteOffset, label.data.byteLength));
console.log(JSON.stringify({ inputs: session.inputNames, outputs: session.outputNames, probabilities: probs.dims,
                             label: label.dims, label_type: label.type }));
