// How the v1 surface answers failures: the one table from the engine's reasons (common/
// status.h) to the cloud's codes (codes.h), per-route overrides where the reference uses
// another code for the same reason (IS.4004 for an instance the instance routes cannot
// find, IS.2019 for the image routes), and the error body
// {"error_code": "...", "error_msg": "<the code's message> <detail>"} serialised by the JSON
// library, with Retry-After on APIG.0308.
//
//   return CodeError(Code("IS.1010"), "(`limit` must be 1..100)");   // a v1 rule
//   return Fail(Reason::kItemNotFound, "(no image with path `a`)");    // from the engine
//   HttpResponse r = RenderError(status, kInstanceRoutes);
//
// Thread contract: pure functions over constant tables.
#ifndef ISS_API_V1_ERRORS_H_
#define ISS_API_V1_ERRORS_H_

#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "api/http/http_types.h"
#include "api/v1/codes.h"
#include "common/status.h"

namespace iss::api::v1 {

// A failure answered with exactly `code` (the surface's own validation).
absl::Status CodeError(const WireCode& code, std::string_view detail = {});

// The table's code for `reason`.
const WireCode& CodeFor(Reason reason);

// A route's exception to the table.
struct CodeOverride {
  Reason reason;
  const WireCode* code;
};

// The code a failure is answered with: its own (CodeError), else the route's override for
// its reason, else the table's. REQUIRES: !status.ok().
const WireCode& WireCodeOf(const absl::Status& status,
                           std::span<const CodeOverride> overrides = {});

// The HTTP answer for a failure. REQUIRES: !status.ok().
HttpResponse RenderError(const absl::Status& status, std::span<const CodeOverride> overrides = {});

}  // namespace iss::api::v1

#endif  // ISS_API_V1_ERRORS_H_
