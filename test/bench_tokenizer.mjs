// bench_tokenizer.mjs: encode throughput of npm tiktoken ("gpt2") on the text that
// build/bench_tokenizer wrote, for comparison with tokenizer.c (same output format and checksum).
//
//   node test/bench_tokenizer.mjs build/tokenizer_bench.txt
import { get_encoding } from "tiktoken";
import { readFileSync } from "node:fs";

const path = process.argv[2] ?? "build/tokenizer_bench.txt";
const bytes = readFileSync(path);
const text = bytes.toString("utf8");
const enc = get_encoding("gpt2");
let best = Infinity, ids = null;
for (let run = 0; run < 3; run++) {
  const t0 = process.hrtime.bigint();
  ids = enc.encode(text, ["<|endoftext|>"]);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  best = Math.min(best, dt);
}
let checksum = 2166136261;
for (const id of ids) checksum = Math.imul(checksum ^ id, 16777619) >>> 0;
enc.free();
console.log(`tiktoken (npm): ${(bytes.length / best / 1e6).toFixed(1)} MB/s (${bytes.length} bytes -> ${ids.length} tokens` +
  ` in ${best.toFixed(3)} s, best of 3; ids checksum ${checksum.toString(16).padStart(8, "0")})`);
