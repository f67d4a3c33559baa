#include "common/status.h"

#include <optional>
#include <string>

#include "absl/strings/cord.h"

namespace iss {
namespace {

constexpr std::string_view kPayloadUrl = "type.iss/reason";

struct ReasonInfo {
  std::string_view name;
  absl::StatusCode canonical;
};

constexpr ReasonInfo kInfo[] = {
#define ISS_REASON_INFO_(name, canonical) \
  {std::string_view(#name).substr(1), absl::StatusCode::canonical},
    ISS_REASONS(ISS_REASON_INFO_)
#undef ISS_REASON_INFO_
};
static_assert(sizeof(kInfo) / sizeof(kInfo[0]) == kReasonCount);

std::optional<Reason> FromName(std::string_view name) {
  for (size_t i = 0; i < kReasonCount; ++i) {
    if (kInfo[i].name == name) return kAllReasons[i];
  }
  return std::nullopt;
}

}  // namespace

std::string_view ReasonName(Reason reason) { return kInfo[size_t(reason)].name; }

std::optional<Reason> ReasonFromName(std::string_view name) { return FromName(name); }

absl::StatusCode CanonicalCode(Reason reason) { return kInfo[size_t(reason)].canonical; }

absl::Status Fail(Reason reason, std::string_view detail) {
  absl::Status status(CanonicalCode(reason), absl::string_view(detail.data(), detail.size()));
  const std::string_view name = ReasonName(reason);
  status.SetPayload(absl::string_view(kPayloadUrl.data(), kPayloadUrl.size()),
                    absl::Cord(absl::string_view(name.data(), name.size())));
  return status;
}

Reason ReasonOf(const absl::Status& status) {
  if (auto payload = status.GetPayload(absl::string_view(kPayloadUrl.data(), kPayloadUrl.size()))) {
    if (std::optional<Reason> r = FromName(std::string(*payload))) return *r;
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return Reason::kInvalidArgument;
    case absl::StatusCode::kDeadlineExceeded:
      return Reason::kDeadlineExceeded;
    case absl::StatusCode::kUnauthenticated:
      return Reason::kUnauthenticated;
    case absl::StatusCode::kPermissionDenied:
      return Reason::kPermissionDenied;
    case absl::StatusCode::kCancelled:
      return Reason::kCancelled;
    default:
      return Reason::kInternal;
  }
}

}  // namespace iss
