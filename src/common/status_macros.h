// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's Abseil (20220623) lacks status_macros.h.
//
//   RETURN_IF_ERROR(store.Put(key, value));
//   ASSIGN_OR_RETURN(auto image, decoder.Decode(bytes));
#ifndef ISS_COMMON_STATUS_MACROS_H_
#define ISS_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ISS_CONCAT_INNER_(a, b) a##b
#define ISS_CONCAT_(a, b) ISS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status iss_status_ = (expr);       \
    if (!iss_status_.ok()) return iss_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ISS_ASSIGN_OR_RETURN_IMPL_(ISS_CONCAT_(iss_statusor_, __LINE__), lhs, expr)

#define ISS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) return statusor.status();         \
  lhs = std::move(statusor).value()

#endif  // ISS_COMMON_STATUS_MACROS_H_
