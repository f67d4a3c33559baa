// Calls the server through the cloud's own Node.js SDK core as an SDK user would: an
// HcClient built with BasicCredentials(ak, sk) and NO project id, a region and an IAM
// endpoint. Before the first call the SDK finds its project id itself (an AK/SK-signed
// GET /v3/projects?name=<region> to the IAM endpoint), then signs every call with it.
// Input (argv[2], JSON): {endpoint, iam_endpoint, region, ak, sk,
//                        calls: [{method, url ("/v1/{project_id}/..."), data?}]}
// Output: {"project_id": "...", "calls": [{"status", "body"} | {"error", "status", "message"}]}
// HTTPS: Node verifies the server's certificate; tests pass theirs in NODE_EXTRA_CA_CERTS.
'use strict';
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder');
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials');
const { Region } = require('@huaweicloud/huaweicloud-sdk-core/region/region');

const spec = JSON.parse(process.argv[2]);
const credential = new BasicCredentials()
  .withAk(spec.ak)
  .withSk(spec.sk)
  .withIamEndpoint(spec.iam_endpoint);
const client = new ClientBuilder((hc) => hc)
  .withCredential(credential)
  .withRegion(new Region(spec.region, spec.endpoint))
  .build();

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
  process.stdout.write(JSON.stringify({ project_id: credential.projectId || null, calls }));
})();
