#include "common/error.h"

#include <algorithm>
#include <array>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace iss {
namespace {

constexpr std::string_view kPayloadUrl = "type.iss/api_code";
using C = absl::StatusCode;

// Codes, statuses and messages of the reference (section 5.2) and the gateway.
// The reference answers every IS.* error with HTTP 400; the gateway's APIG.* codes
// use their own statuses (401, 403, 404, 413, 429).
constexpr ErrorInfo kErrors[] = {
    {"IS.0001", 400, C::kInvalidArgument, "The request parameter is missing or empty."},
    {"IS.0002", 400, C::kInvalidArgument, "The type of the request parameter is not supported."},
    {"IS.0003", 400, C::kInvalidArgument, "The request parameter cannot be empty."},
    {"IS.0005", 400, C::kInvalidArgument, "The header is missing or empty."},
    {"IS.0006", 400, C::kInvalidArgument, "The request body is too big."},
    {"IS.0007", 400, C::kInvalidArgument, "Invalid instance name."},
    {"IS.0008", 400, C::kInvalidArgument, "The JSON format of the input data is incorrect."},
    {"IS.0009", 400, C::kInternal, "The request failed due to an internal error."},
    {"IS.0010", 400, C::kInvalidArgument, "The request method is not allowed."},
    {"IS.0012", 400, C::kDeadlineExceeded, "Operation timed out."},
    {"IS.0014", 400, C::kFailedPrecondition, "Instance status is abnormal."},
    {"IS.0015", 400, C::kFailedPrecondition, "The model file does not exist."},
    {"IS.0016", 400, C::kInvalidArgument, "The path is invalid."},
    {"IS.1001", 400, C::kNotFound, "The service does not exist."},
    {"IS.1002", 400, C::kInvalidArgument, "No tag value."},
    {"IS.1003", 400, C::kInvalidArgument, "Too many tags."},
    {"IS.1004", 400, C::kInvalidArgument, "The tag does not match."},
    {"IS.1005", 400, C::kInternal, "Failed to add the image."},
    {"IS.1006", 400, C::kInternal, "Failed to delete the image."},
    {"IS.1007", 400, C::kInternal, "Failed to update the image."},
    {"IS.1008", 400, C::kInternal, "Failed to search for the image."},
    {"IS.1009", 400, C::kInternal, "Failed to query the image."},
    {"IS.1010", 400, C::kInvalidArgument, "The value of limit is incorrect."},
    {"IS.1011", 400, C::kInvalidArgument, "The value of offset is incorrect."},
    {"IS.1015", 400, C::kResourceExhausted, "Too many images in the instance."},
    {"IS.2000", 400, C::kUnavailable, "Failed to download the image."},
    {"IS.2001", 400, C::kInvalidArgument, "The image format is not supported."},
    {"IS.2002", 400, C::kInvalidArgument, "The image file has been damaged."},
    {"IS.2006", 400, C::kNotFound, "The image is not indexed."},
    {"IS.2007", 400, C::kInvalidArgument, "Base64 decoding of the input data is incorrect."},
    {"IS.2008", 400, C::kInvalidArgument, "The request parameters must contain path information."},
    {"IS.2009", 400, C::kInvalidArgument, "The request parameters must contain tag information."},
    {"IS.2010", 400, C::kInvalidArgument, "The request parameter does not exist."},
    {"IS.2011", 400, C::kPermissionDenied, "OBS is not authorized to obtain images."},
    {"IS.2012", 400, C::kInvalidArgument, "The image path cannot be empty."},
    {"IS.2013", 400, C::kInvalidArgument,
     "The path and file in the request parameter cannot be empty at the same time."},
    {"IS.2015", 400, C::kInvalidArgument, "The request parameter must contain path or file."},
    {"IS.2019", 400, C::kNotFound, "The instance does not exist."},
    {"IS.2100", 400, C::kInternal, "Failed to add the image."},
    {"IS.2101", 400, C::kInternal, "Failed to delete the image."},
    {"IS.2102", 400, C::kInternal, "Failed to search for the image."},
    {"IS.2103", 400, C::kInternal, "Failed to check the image."},
    {"IS.2104", 400, C::kInternal, "Failed to update the image information."},
    {"IS.2105", 400, C::kUnavailable, "The service is not running properly."},
    {"IS.2106", 400, C::kInvalidArgument, "The image is too big."},
    {"IS.2107", 400, C::kInvalidArgument, "The image is too small."},
    {"IS.3000", 400, C::kAlreadyExists, "The service name already exists."},
    {"IS.3001", 400, C::kInternal, "Failed to save the service information."},
    {"IS.3004", 400, C::kInvalidArgument, "The model cannot be used."},
    {"IS.3014", 400, C::kInvalidArgument, "The model name does not exist."},
    {"IS.3023", 400, C::kInvalidArgument, "The instance tag does not exist."},
    {"IS.3024", 400, C::kInvalidArgument, "Too many instance tags."},
    {"IS.3026", 400, C::kInvalidArgument, "Failed to add the instance tag."},
    {"IS.3028", 400, C::kInternal, "Failed to create the instance."},
    {"IS.3032", 400, C::kFailedPrecondition, "The instance is being deleted."},
    {"IS.3035", 400, C::kInvalidArgument, "The instance scale does not exist."},
    {"IS.3036", 400, C::kInvalidArgument, "The user instance description is too long."},
    {"IS.4004", 400, C::kNotFound, "The instance name does not exist."},
    {"APIG.0101", 404, C::kNotFound, "The API does not exist or has not been published."},
    {"APIG.0201", 413, C::kResourceExhausted, "The request body is oversized."},
    {"APIG.0301", 401, C::kUnauthenticated, "Incorrect IAM authentication information."},
    {"APIG.0302", 403, C::kPermissionDenied, "The IAM user is not authorized to access the API."},
    {"APIG.0308", 429, C::kResourceExhausted,
     "The request is sent too fast and exceeds the default rate limit of the service."},
};

}  // namespace

const ErrorInfo* FindError(std::string_view code) {
  for (const ErrorInfo& e : kErrors) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

absl::Status Error(std::string_view code, std::string_view detail) {
  const ErrorInfo* info = FindError(code);
  if (info == nullptr) info = FindError("IS.0009");
  std::string message(info->message);
  if (!detail.empty()) message.append(" ").append(detail);
  absl::Status status(info->canonical, absl::string_view(message));
  status.SetPayload(absl::string_view(kPayloadUrl.data(), kPayloadUrl.size()),
                    absl::Cord(absl::string_view(info->code.data(), info->code.size())));
  return status;
}

std::string ApiCode(const absl::Status& status) {
  if (status.ok()) return "";
  if (auto payload = status.GetPayload(absl::string_view(kPayloadUrl.data(), kPayloadUrl.size()))) {
    return std::string(*payload);
  }
  switch (status.code()) {
    case C::kInvalidArgument:
      return "IS.0001";
    case C::kDeadlineExceeded:
      return "IS.0012";
    case C::kUnauthenticated:
      return "APIG.0301";
    case C::kPermissionDenied:
      return "APIG.0302";
    default:
      return "IS.0009";
  }
}

int HttpStatusOf(const absl::Status& status) {
  if (status.ok()) return 200;
  const ErrorInfo* info = FindError(ApiCode(status));
  return info ? info->http_status : 400;
}

}  // namespace iss
