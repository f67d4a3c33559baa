// Image bytes -> pixels, safely: format sniffed from the bytes (JPEG, PNG, BMP, WebP, TIFF,
// GIF, HEIF/HEIC/AVIF), size limits checked from the header before any pixel is allocated,
// EXIF (JPEG) and TIFF orientation applied. The formats after BMP: other_formats.h.
//
//   DecodeOptions opt{.min_decoded_side = 224};
//   ASSIGN_OR_RETURN(cv::Mat bgr, DecodeImage(bytes, opt));   // CV_8UC3, BGR
//
// JPEGs decode through libjpeg-turbo with DCT scaling (1/2, 1/4, 1/8) straight to the
// smallest size whose shorter side is still >= min_decoded_side; the returned image may
// therefore be smaller than the file's own size. `ProbeImage` reports the file's size.
// Errors (common/error.h): IS.2001 not one of those formats (or an animated WebP), IS.2002
// damaged or truncated,
// IS.2106 a side > 2048 px (or a header claiming so), IS.2107 a side < 100 px; a JPEG of
// more than max_jpeg_scans scans is damaged (IS.2002).
// Thread-safe: no shared state.
#ifndef ISS_FEATURES_IMAGE_DECODER_H_
#define ISS_FEATURES_IMAGE_DECODER_H_

#include <cstdint>
#include <opencv2/core.hpp>
#include <string_view>

#include "absl/status/statusor.h"

namespace iss::features {

enum class ImageFormat { kUnknown, kJpeg, kPng, kBmp, kWebp, kTiff, kGif, kHeif };

struct ImageInfo {
  ImageFormat format = ImageFormat::kUnknown;
  int width = 0;  // as stored, before EXIF orientation
  int height = 0;
  int orientation = 1;  // EXIF/TIFF orientation 1..8 (JPEG and TIFF)
};

struct DecodeOptions {
  int min_side = 100;  // Default: the service's limits
  int max_side = 2048;
  // Decode JPEGs at a DCT scale whose shorter side stays >= this (0 = full size).
  int min_decoded_side = 0;
  // A JPEG with more scans than this is refused (IS.2002) before it is decoded: a
  // progressive file can repeat its scans without end and every scan is a pass over the
  // whole image (real encoders write at most ~20). With the side limit this bounds the
  // time of every decode (docs/reliability.md, "Limits").
  int max_jpeg_scans = 100;
  // Opt-in (off by default, as the reference refuses them with IS.2106): an image whose
  // longest side is over max_side is accepted up to downscale_max_side a side and
  // downscale_max_pixels in all, decoded, and shrunk to max_side on its longest side; the
  // returned *scale says by how much. Phone photos (4032 x 3024) are the case.
  bool downscale_large = false;
  int downscale_max_side = 16384;
  int64_t downscale_max_pixels = 50'000'000;
};

ImageFormat SniffFormat(std::string_view bytes);

// Header-only: format, stored size, orientation; checks the size limits.
absl::StatusOr<ImageInfo> ProbeImage(std::string_view bytes, const DecodeOptions& options);

// Full decode to 8-bit BGR, oriented upright. The scale of the result relative to the
// oriented full-size image is returned in *scale when non-null (1, 1/2, 1/4 or 1/8).
absl::StatusOr<cv::Mat> DecodeImage(std::string_view bytes, const DecodeOptions& options,
                                    double* scale = nullptr);

}  // namespace iss::features

#endif  // ISS_FEATURES_IMAGE_DECODER_H_
