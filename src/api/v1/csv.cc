#include "api/v1/csv.h"

#include "absl/status/status.h"

namespace iss::api::v1 {

absl::StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text) {
  std::vector<CsvRecord> out;
  size_t at = 0, line = 1;
  while (at < text.size()) {
    CsvRecord rec;
    rec.line = line;
    std::string field;
    bool any = false;  // the record has a character other than its line break
    for (;;) {
      if (at < text.size() && text[at] == '"') {  // a quoted field
        any = true;
        const size_t opened = line;
        for (++at;; ++at) {
          if (at >= text.size()) {
            return absl::InvalidArgumentError("a quote opened on line " + std::to_string(opened) +
                                              " is never closed");
          }
          if (text[at] == '"') {
            if (at + 1 < text.size() && text[at + 1] == '"') {
              field += '"';
              ++at;
              continue;
            }
            ++at;
            break;
          }
          if (text[at] == '\n') ++line;
          field += text[at];
        }
        if (at < text.size() && text[at] != ',' && text[at] != '\n' &&
            !(text[at] == '\r' && at + 1 < text.size() && text[at + 1] == '\n')) {
          return absl::InvalidArgumentError("line " + std::to_string(line) +
                                            ": text after a closing quote");
        }
      } else {  // a plain field, up to the next separator
        while (at < text.size() && text[at] != ',' && text[at] != '\n' &&
               !(text[at] == '\r' && at + 1 < text.size() && text[at + 1] == '\n')) {
          if (text[at] == '"') {
            return absl::InvalidArgumentError("line " + std::to_string(line) +
                                              ": a quote inside an unquoted field");
          }
          field += text[at++];
          any = true;
        }
      }
      rec.fields.push_back(std::move(field));
      field.clear();
      if (at < text.size() && text[at] == ',') {
        any = true;
        ++at;
        continue;
      }
      break;  // end of the record: a line break or the end of the text
    }
    if (at < text.size() && text[at] == '\r') ++at;
    if (at < text.size() && text[at] == '\n') {
      ++at;
      ++line;
    }
    if (any) out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace iss::api::v1
