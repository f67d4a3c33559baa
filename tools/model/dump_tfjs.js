// Dumps a TF.js layers model shipped as JS modules (nsfwjs's dist/models/<name>/) into
// <out>/model.json (topology + weights manifest) and <out>/weights.bin (the shards'
// bytes, concatenated in manifest order). Usage: node dump_tfjs.js MODEL_DIR OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

const [modelDir, outDir] = process.argv.slice(2);
if (!modelDir || !outDir) {
  console.error('usage: node dump_tfjs.js MODEL_DIR OUT_DIR');
  process.exit(2);
}
const model = require(path.resolve(modelDir, 'model.min.js'));
if (!model.modelTopology || !model.weightsManifest) {
  console.error(`${modelDir}: not a TF.js layers model module`);
  process.exit(1);
}
fs.mkdirSync(outDir, { recursive: true });
const chunks = [];
for (const group of model.weightsManifest) {
  for (const shard of group.paths) {
    const b64 = require(path.resolve(modelDir, `${shard}.min.js`));
    if (typeof b64 !== 'string') {
      console.error(`${shard}: expected a base64 string`);
      process.exit(1);
    }
    chunks.push(Buffer.from(b64, 'base64'));
  }
}
fs.writeFileSync(path.join(outDir, 'model.json'), JSON.stringify(model));
fs.writeFileSync(path.join(outDir, 'weights.bin'), Buffer.concat(chunks));
console.log(`dumped ${modelDir} -> ${outDir}`);
