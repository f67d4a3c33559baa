// api/v1: comma-separated values as RFC 4180 writes them (import-job manifests from a
// spreadsheet): fields separated by ',', records by LF or CRLF, a field in double quotes
// may hold commas, line breaks and "" for a quote. No library: Debian's libcsv would add a
// dependency for ~50 lines with no other user.
//
//   ASSIGN_OR_RETURN(std::vector<CsvRecord> records, ParseCsv("key,color\na.jpg,red\n"));
//
// Blank lines are skipped. Failures: absl::InvalidArgumentError naming the record (a quote
// left open, text after a closing quote). Thread contract: pure.
#ifndef ISS_API_V1_CSV_H_
#define ISS_API_V1_CSV_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::api::v1 {

struct CsvRecord {
  size_t line = 0;  // the 1-based line it starts on
  std::vector<std::string> fields;
};

absl::StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text);

}  // namespace iss::api::v1

#endif  // ISS_API_V1_CSV_H_
