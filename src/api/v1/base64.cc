#include "api/v1/base64.h"

#include <array>
#include <cstdint>

#include "api/v1/errors.h"

namespace iss::api::v1 {
namespace {

constexpr std::array<int8_t, 256> MakeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = int8_t(i);
  return t;
}
constexpr std::array<int8_t, 256> kTable = MakeTable();

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

absl::StatusOr<std::string> DecodeBase64Image(std::string_view text) {
  // Optional data URL prefix: "data:image/jpeg;base64,".
  if (text.substr(0, 5) == "data:") {
    size_t comma = text.find(',');
    if (comma == std::string_view::npos ||
        text.substr(0, comma).find(";base64") == std::string_view::npos) {
      return CodeError(Code("IS.2007"), "(a data URL must be \"data:<type>;base64,<data>\")");
    }
    text.remove_prefix(comma + 1);
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t symbols = 0;  // data characters seen
  size_t padding = 0;  // '=' seen
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (IsSpace(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int8_t v = kTable[static_cast<unsigned char>(c)];
    if (v < 0) {
      return CodeError(Code("IS.2007"),
                       "(invalid character at offset " + std::to_string(i) +
                           "; only the standard alphabet A-Z a-z 0-9 + / is accepted)");
    }
    if (padding > 0) return CodeError(Code("IS.2007"), "(data after '=' padding)");
    ++symbols;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (symbols % 4 == 1) return CodeError(Code("IS.2007"), "(truncated: a lone final character)");
  if (padding > 2) return CodeError(Code("IS.2007"), "(too much '=' padding)");
  if (padding > 0 && (symbols + padding) % 4 != 0) {
    return CodeError(Code("IS.2007"), "(wrong '=' padding)");
  }
  // Non-canonical trailing bits (e.g. "QR==") are tolerated, as most decoders do.
  if (out.empty()) return CodeError(Code("IS.2007"), "(empty data)");
  return out;
}

}  // namespace iss::api::v1
