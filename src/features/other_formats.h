// The photo formats beyond JPEG/PNG/BMP, each through its Debian library: WebP (libwebp),
// TIFF (libtiff, through OpenCV; the first page), GIF (giflib; the first frame) and
// HEIF/HEIC/AVIF (libheif: HEVC by libde265, AV1 by dav1d/aom; the primary image).
// Part of image_decoder.cc, which sniffs the format, checks the size limits on what the
// probe reports before any pixel is allocated, and compares the decoded size with it.
//
//   ASSIGN_OR_RETURN(OtherInfo info, ProbeOther(ImageFormat::kWebp, bytes));
//   ASSIGN_OR_RETURN(cv::Mat bgr, DecodeOther(ImageFormat::kWebp, bytes, info, max_side));
//
// Failures: kImageCorrupt (damaged, truncated, a header that cannot be read), kImageFormat
// (a variant the library cannot decode: an animated WebP, a HEIF without an image).
// Thread-safe: no shared state (each call has its own decoder context).
#ifndef ISS_FEATURES_OTHER_FORMATS_H_
#define ISS_FEATURES_OTHER_FORMATS_H_

#include <opencv2/core.hpp>
#include <string_view>

#include "absl/status/statusor.h"
#include "features/image_decoder.h"

namespace iss::features::internal {

bool IsOtherFormat(ImageFormat format);

// The stored size (width, height) as the file's header states it, without decoding pixels.
absl::StatusOr<ImageInfo> ProbeOther(ImageFormat format, std::string_view bytes);

// Decodes to 8-bit BGR. `info` is ProbeOther's answer, already checked against the limits;
// `max_side` bounds what a decoder may allocate when a file's inner parts claim more.
absl::StatusOr<cv::Mat> DecodeOther(std::string_view bytes, const ImageInfo& info, int max_side);

}  // namespace iss::features::internal

#endif  // ISS_FEATURES_OTHER_FORMATS_H_
