#include "api/v1/errors.h"

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/cord.h"

namespace iss::api::v1 {
namespace {

constexpr std::string_view kPayloadUrl = "type.iss/v1-code";

struct Row {
  Reason reason;
  const WireCode* code;
};

// Reason -> code, in the order of ISS_REASONS (checked below): every reason has a row.
constexpr Row kTable[] = {
    {Reason::kInvalidArgument, &Code("IS.0001")},
    {Reason::kGalleryNotFound, &Code("IS.2019")},
    {Reason::kGalleryExists, &Code("IS.3000")},
    {Reason::kGalleryDeleting, &Code("IS.3032")},
    {Reason::kGalleryLimit, &Code("IS.3028")},
    {Reason::kGalleryAbnormal, &Code("IS.0014")},
    {Reason::kGalleryBusy, &Code("IS.3038")},
    {Reason::kJobNotFound, &Code("IS.3033")},
    {Reason::kJobState, &Code("IS.0011")},
    {Reason::kJobExists, &Code("IS.3037")},
    {Reason::kBucketEmpty, &Code("IS.4001")},
    {Reason::kPrefixEmpty, &Code("IS.3053")},
    {Reason::kModelUnknown, &Code("IS.3014")},
    {Reason::kModelUnavailable, &Code("IS.0015")},
    {Reason::kTagUnknown, &Code("IS.1004")},
    {Reason::kTagValueTooLong, &Code("IS.1003")},
    {Reason::kItemNotFound, &Code("IS.2006")},
    {Reason::kItemLimit, &Code("IS.1015")},
    {Reason::kNoQuery, &Code("IS.2015")},
    {Reason::kBadCrop, &Code("IS.0002")},
    {Reason::kImageFormat, &Code("IS.2001")},
    {Reason::kImageCorrupt, &Code("IS.2002")},
    {Reason::kImageTooBig, &Code("IS.2106")},
    {Reason::kImageTooSmall, &Code("IS.2107")},
    {Reason::kEmbeddingFailed, &Code("IS.2100")},
    {Reason::kBlobUnreachable, &Code("IS.2000")},
    {Reason::kBlobForbidden, &Code("IS.2011")},
    {Reason::kBlobNotFound, &Code("IS.2003")},
    {Reason::kBucketNotFound, &Code("IS.2004")},
    {Reason::kBlobDenied, &Code("IS.2011")},
    {Reason::kBlobClient, &Code("IS.2016")},
    {Reason::kUnauthenticated, &Code("APIG.0301")},
    {Reason::kPermissionDenied, &Code("APIG.0302")},
    {Reason::kRateLimited, &Code("APIG.0308")},
    {Reason::kPayloadTooLarge, &Code("APIG.0201")},
    {Reason::kIdentityNotFound, &Code("IS.3007")},
    {Reason::kIdentityExists, &Code("IS.3000")},
    {Reason::kRouteNotFound, &Code("APIG.0101")},
    {Reason::kMethodNotAllowed, &Code("IS.0010")},
    {Reason::kMalformedRequest, &Code("IS.0001")},
    {Reason::kDeadlineExceeded, &Code("IS.0012")},
    {Reason::kStorage, &Code("IS.0009")},
    {Reason::kNoSpace, &Code("IS.0009")},
    {Reason::kCorrupt, &Code("IS.0009")},
    {Reason::kUnavailable, &Code("IS.2105")},
    {Reason::kCancelled, &Code("IS.0009")},
    {Reason::kInternal, &Code("IS.0009")},
};

constexpr bool TableIsComplete() {
  if (sizeof(kTable) / sizeof(kTable[0]) != kReasonCount) return false;
  for (size_t i = 0; i < kReasonCount; ++i) {
    if (kTable[i].reason != kAllReasons[i]) return false;
  }
  return true;
}
static_assert(TableIsComplete(), "every Reason needs exactly one row, in ISS_REASONS order");

}  // namespace

absl::Status CodeError(const WireCode& code, std::string_view detail) {
  absl::Status status = Fail(Reason::kInvalidArgument, detail);
  status.SetPayload(absl::string_view(kPayloadUrl.data(), kPayloadUrl.size()),
                    absl::Cord(absl::string_view(code.code.data(), code.code.size())));
  return status;
}

const WireCode& CodeFor(Reason reason) { return *kTable[size_t(reason)].code; }

const WireCode& WireCodeOf(const absl::Status& status, std::span<const CodeOverride> overrides) {
  if (auto payload = status.GetPayload(absl::string_view(kPayloadUrl.data(), kPayloadUrl.size()))) {
    if (const WireCode* c = FindCode(std::string(*payload))) return *c;
  }
  const Reason reason = ReasonOf(status);
  for (const CodeOverride& o : overrides) {
    if (o.reason == reason) return *o.code;
  }
  return CodeFor(reason);
}

HttpResponse RenderError(const absl::Status& status, std::span<const CodeOverride> overrides) {
  const WireCode& code = WireCodeOf(status, overrides);
  std::string message(code.message);
  if (!status.message().empty()) message.append(" ").append(std::string(status.message()));
  HttpResponse r;
  r.status = code.http_status;
  nlohmann::json body = {{"error_code", std::string(code.code)}, {"error_msg", message}};
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (code.code == "APIG.0308") r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace iss::api::v1
