#include "auth/tokens.h"

#include <nlohmann/json.hpp>

#include "auth/crypto.h"
#include "auth/internal/json_fields.h"
#include "common/status.h"
#include "common/status_macros.h"

namespace iss::auth {
namespace {

using json = nlohmann::json;

constexpr std::string_view kPrefix = "ISS1.";

absl::Status Refuse(std::string_view why) {
  return Fail(Reason::kUnauthenticated, "(" + std::string(why) + ")");
}

using internal::ReadField;

}  // namespace

Tokens::Tokens(std::string_view server_key, const Clock* clock)
    : key_(HmacSha256(server_key, "imagesearch token key")), clock_(clock) {}

std::string Tokens::Mint(const TokenClaims& c) const {
  std::string payload = json{
      {"u", c.user_id},
      {"p", c.project_id},
      {"g", c.generation},
      {"iat", c.issued_at},
      {"exp", c.expires_at}}.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string body = Base64UrlEncode(payload);
  return std::string(kPrefix) + body + "." + Base64UrlEncode(HmacSha256(key_, body));
}

absl::StatusOr<TokenClaims> Tokens::Check(std::string_view token) const {
  if (token.empty()) return Refuse("the token is empty");
  if (token.substr(0, kPrefix.size()) != kPrefix) return Refuse("the token cannot be decrypted");
  const size_t dot = token.find('.', kPrefix.size());
  if (dot == std::string_view::npos) return Refuse("the token cannot be decrypted");
  const std::string_view body = token.substr(kPrefix.size(), dot - kPrefix.size());
  ASSIGN_OR_RETURN(std::string mac, Base64UrlDecode(token.substr(dot + 1)));
  if (!SafeEqual(mac, HmacSha256(key_, body))) return Refuse("the token cannot be decrypted");
  ASSIGN_OR_RETURN(std::string payload, Base64UrlDecode(body));
  const json p = json::parse(payload, nullptr, false);
  TokenClaims c;
  if (p.is_discarded() || !p.is_object() || !ReadField(p, "u", &c.user_id) ||
      !ReadField(p, "p", &c.project_id) || !ReadField(p, "g", &c.generation) ||
      !ReadField(p, "iat", &c.issued_at) || !ReadField(p, "exp", &c.expires_at)) {
    return Refuse("the token cannot be decrypted");
  }
  if (c.expires_at <= clock_->NowS()) return Refuse("the token has expired");
  return c;
}

}  // namespace iss::auth
