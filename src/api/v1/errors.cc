#include "api/error_response.h"

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace iss::api {

HttpResponse ErrorResponse(const absl::Status& status) {
  HttpResponse r;
  r.status = HttpStatusOf(status);
  const std::string code = ApiCode(status);
  nlohmann::json body = {{"error_code", code}, {"error_msg", std::string(status.message())}};
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (code == "APIG.0308") r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse ErrorResponse(const std::string& code, const std::string& detail) {
  return ErrorResponse(Error(code, detail));
}

}  // namespace iss::api
