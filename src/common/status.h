// Failures as values with a semantic reason: what went wrong in the domain's words, never
// in a wire protocol's. The engine and every adapter return these; each API surface
// (api/v1, api/iam, api/admin ...) owns a table from Reason to its own wire code and status.
//
//   return Fail(Reason::kGalleryNotFound, "(instance `shoes`)");
//   if (ReasonOf(status) == Reason::kItemNotFound) ...
//
// The status's canonical absl code follows from the reason (kGalleryNotFound -> NotFound),
// so code that only knows absl::Status still sees a sensible code; the reason travels as a
// payload. The message is the detail alone: a surface prefixes its own wording.
// Thread-safe: pure functions over constant tables.
#ifndef ISS_COMMON_STATUS_H_
#define ISS_COMMON_STATUS_H_

#include <cstddef>
#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace iss {

// X(name, canonical absl code). One list: the enum, the names and the canonical codes are
// generated from it, so a reason cannot exist without all three.
#define ISS_REASONS(X)                                                                          \
  /* --- requests the engine refuses --- */                                                     \
  X(kInvalidArgument, kInvalidArgument)     /* a value is out of its domain */                  \
  X(kGalleryNotFound, kNotFound)            /* no gallery of that name in the project */        \
  X(kGalleryExists, kAlreadyExists)         /* a gallery of that name exists */                 \
  X(kGalleryDeleting, kFailedPrecondition)  /* the gallery is being deleted */                  \
  X(kGalleryLimit, kResourceExhausted)      /* the project has its maximum of galleries */      \
  X(kGalleryAbnormal, kFailedPrecondition)  /* the gallery's model is not installed */          \
  X(kGalleryBusy, kFailedPrecondition)      /* a job runs on the gallery */                     \
  X(kJobNotFound, kNotFound)                /* no job of that id in the project */              \
  X(kJobState, kFailedPrecondition)         /* the job's state does not allow the operation */  \
  X(kJobExists, kAlreadyExists)             /* the gallery already has a sync job */            \
  X(kBucketEmpty, kFailedPrecondition)      /* an import of a bucket that holds no object */    \
  X(kPrefixEmpty, kNotFound)                /* an import of a prefix that holds no object */    \
  X(kModelUnknown, kInvalidArgument)        /* no model of that name */                         \
  X(kModelUnavailable, kFailedPrecondition) /* a model's files are missing or unusable */       \
  X(kTagUnknown, kInvalidArgument)          /* a tag key the gallery does not declare */        \
  X(kTagValueTooLong, kInvalidArgument)     /* a tag value over model::kMaxTagValueChars */     \
  X(kItemNotFound, kNotFound)               /* no item under that key */                        \
  X(kItemLimit, kResourceExhausted)         /* the gallery holds its maximum of items */        \
  X(kNoQuery, kInvalidArgument)             /* no image bytes and nothing to fetch them from */ \
  X(kBadCrop, kInvalidArgument)             /* a crop box outside the image */                  \
  /* --- images --- */                                                                          \
  X(kImageFormat, kInvalidArgument)   /* not a supported image format */                        \
  X(kImageCorrupt, kInvalidArgument)  /* damaged or truncated image data */                     \
  X(kImageTooBig, kInvalidArgument)   /* a side above the limit, or a bomb */                   \
  X(kImageTooSmall, kInvalidArgument) /* a side below the limit */                              \
  X(kEmbeddingFailed, kInternal)      /* the model could not embed a decoded image */           \
  /* --- blobs (image bytes named by a locator) --- */                                          \
  X(kBlobUnreachable, kUnavailable)    /* transfer failed: network, status, size */             \
  X(kBlobForbidden, kPermissionDenied) /* the locator's host or address is not allowed */       \
  X(kBlobNotFound, kNotFound)          /* the object does not exist */                          \
  X(kBucketNotFound, kNotFound)        /* the bucket does not exist */                          \
  X(kBlobDenied, kPermissionDenied)    /* the object store refused our credentials */           \
  X(kBlobClient, kFailedPrecondition)  /* no client for the locator (profile, config) */        \
  /* --- callers --- */                                                                         \
  X(kUnauthenticated, kUnauthenticated)   /* missing, bad, expired or forged credentials */     \
  X(kPermissionDenied, kPermissionDenied) /* a valid caller without the right */                \
  X(kRateLimited, kResourceExhausted)     /* too many requests */                               \
  X(kPayloadTooLarge, kResourceExhausted) /* a request body above the limit */                  \
  X(kIdentityNotFound, kNotFound)         /* no such user, domain, project or key */            \
  X(kIdentityExists, kAlreadyExists)      /* a user of that name exists */                      \
  /* --- protocol (surfaces only) --- */                                                        \
  X(kRouteNotFound, kNotFound)           /* no route for the path */                            \
  X(kMethodNotAllowed, kUnimplemented)   /* the path exists for other methods */                \
  X(kMalformedRequest, kInvalidArgument) /* the request cannot be parsed */                     \
  /* --- the system --- */                                                                      \
  X(kDeadlineExceeded, kDeadlineExceeded) /* an operation ran out of time */                    \
  X(kStorage, kInternal)                  /* the durable store failed (I/O) */                  \
  X(kNoSpace, kResourceExhausted)         /* the disk is full */                                \
  X(kCorrupt, kDataLoss)                  /* stored data failed its checks */                   \
  X(kUnavailable, kUnavailable)           /* a component is not running */                      \
  X(kCancelled, kCancelled)               /* work abandoned on shutdown or delete */            \
  X(kInternal, kInternal)                 /* a bug or an unexpected library failure */

enum class Reason : unsigned char {
#define ISS_REASON_ENUM_(name, canonical) name,
  ISS_REASONS(ISS_REASON_ENUM_)
#undef ISS_REASON_ENUM_
};

// Every reason, in declaration order (for tables and their tests).
inline constexpr Reason kAllReasons[] = {
#define ISS_REASON_LIST_(name, canonical) Reason::name,
    ISS_REASONS(ISS_REASON_LIST_)
#undef ISS_REASON_LIST_
};
inline constexpr size_t kReasonCount = sizeof(kAllReasons) / sizeof(kAllReasons[0]);

// "kGalleryNotFound" -> "GalleryNotFound" style names, stable (logs, payloads).
std::string_view ReasonName(Reason reason);
// The reason of a ReasonName(); nullopt for a name no reason has.
std::optional<Reason> ReasonFromName(std::string_view name);
absl::StatusCode CanonicalCode(Reason reason);

// A failed status with `reason`; its message is `detail`.
absl::Status Fail(Reason reason, std::string_view detail = {});

// The reason `status` carries. A status made elsewhere (a library's) maps from its
// canonical code where that is unambiguous (InvalidArgument, DeadlineExceeded,
// Unauthenticated, PermissionDenied, Cancelled); everything else becomes kInternal (a
// NotFound is never guessed to be an item or a gallery). REQUIRES: !status.ok().
Reason ReasonOf(const absl::Status& status);

// True when `status` failed with `reason`.
inline bool Is(const absl::Status& status, Reason reason) {
  return !status.ok() && ReasonOf(status) == reason;
}

}  // namespace iss

#endif  // ISS_COMMON_STATUS_H_
