// Signs one request with the cloud's own Node.js SDK core (AKSKSigner) and prints what to
// send: {"headers": {...}, "body": "<exact bytes>"}. Used by the integration tests.
// Input (argv[2], JSON): {endpoint, method, headers?, query?, data?, ak, sk}
//   endpoint: full URL with path and no query; data: a JSON value or absent.
'use strict';
const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner');
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials');

const spec = JSON.parse(process.argv[2]);
const credential = new BasicCredentials().withAk(spec.ak).withSk(spec.sk);
const request = {
  endpoint: spec.endpoint,
  method: spec.method.toUpperCase(),
  headers: Object.assign({}, spec.headers || {}),
  queryParams: spec.query || {},
};
if (spec.data !== undefined) request.data = spec.data;
const headers = AKSKSigner.sign(request, credential);
const body = spec.data === undefined ? '' : JSON.stringify(spec.data);
process.stdout.write(JSON.stringify({ headers, body }));
