// ONNX Runtime (onnxruntime-node, CPU) latency of one model: the engine users
// would otherwise pick. Usage: node ort_bench.js MODEL.onnx THREADS RUNS
// Prints one JSON object: {"engine":"onnxruntime","threads":..,"median_ms":..}
const ort = require('onnxruntime-node');

async function main() {
  const [model, threads, runs] = [process.argv[2], +process.argv[3], +process.argv[4]];
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all'});
  const name = session.inputNames[0];
  const dims = JSON.parse(process.argv[5]);
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; ++i) data[i] = Math.sin(i) * 0.5;
  const feeds = {[name]: new ort.Tensor('float32', data, dims)};
  for (let i = 0; i < 2; ++i) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const median = ms.length % 2 ? ms[(ms.length - 1) / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
  console.log(JSON.stringify({engine: 'onnxruntime', version: ort.env.versions ? ort.env.versions.common : '',
                              threads, runs, median_ms: median, min_ms: ms[0]}));
}
main().catch((e) => { console.error('ort_bench: ' + e.message); process.exit(1); });
