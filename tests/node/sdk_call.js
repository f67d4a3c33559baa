// Calls the server through the cloud's own Node.js SDK core as an SDK user would: an
// HcClient built with BasicCredentials(ak, sk) and NO project id, a region and an IAM
// endpoint. Before the first call the SDK finds its project id itself (an AK/SK-signed
// GET /v3/projects?name=<region> to the IAM endpoint), then signs every call with it.
// Input (argv[2], JSON): {endpoint, iam_endpoint, region, ak, sk,
//                        calls: [{method, url ("/v1/{project_id}/..."), data?}]}
// Output (after "@@SDK-RESULT@@"): {"project_id": "...", "calls": [{"status", "body"} | {"error", "status", "message"}]}
// HTTPS: Node verifies the server's certificate; tests pass theirs in NODE_EXTRA_CA_CERTS.
'use strict';
const { HcClient } = require('@huaweicloud/huaweicloud-sdk-core/HcClient');
const { DefaultHttpClient } = require('@huaweicloud/huaweicloud-sdk-core/http/DefaultHttpClient');
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials');
const { Region } = require('@huaweicloud/huaweicloud-sdk-core/region/region');

const spec = JSON.parse(process.argv[2]);
const credential = new BasicCredentials()
  .withAk(spec.ak)
  .withSk(spec.sk)
  .withIamEndpoint(spec.iam_endpoint);
// What ClientBuilder.build() does (ClientBuilder itself needs the `uuid` package for its
// User-Agent, which the pinned core does not bring): an HcClient over the SDK's HTTP client,
// with the region and the credential.
const region = new Region(spec.region, spec.endpoint);
const client = new HcClient(new DefaultHttpClient({ headers: {} }, region.endpoints))
  .withRegion(region)
  .withCredential(credential)
  .withEndpoints(region.endpoints);

(async () => {
  const calls = [];
  for (const c of spec.calls) {
    try {
      const body = await client.sendRequest({
        method: c.method,
        url: c.url,
        contentType: 'application/json',
        queryParams: {},
        pathParams: {},
        headers: {},
        data: c.data || {},
      });
      const status = body.httpStatusCode;
      delete body.httpStatusCode;
      calls.push({ status, body });
    } catch (e) {
      calls.push({
        error: e.errorCode || e.code || null,
        status: e.httpStatusCode || e.status || null,
        message: String(e.errorMsg || e.message || e),
      });
    }
  }
  // The SDK logs its errors to stdout too: the answer is the last line, after a marker.
  process.stdout.write('\n@@SDK-RESULT@@' + JSON.stringify({ project_id: credential.projectId || null, calls }));
})();
