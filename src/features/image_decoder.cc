#include "features/image_decoder.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/status_macros.h"
#include "features/other_formats.h"

namespace iss::features {
namespace {

uint16_t Be16(const unsigned char* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t Be32(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
uint16_t Le16(const unsigned char* p) { return uint16_t(p[1] << 8 | p[0]); }
uint32_t Le32(const unsigned char* p) {
  return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0];
}

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// EXIF orientation from a JPEG's APP1 segment; 1 when absent or unreadable.
int JpegOrientation(std::string_view bytes) {
  const unsigned char* p = U(bytes);
  size_t n = bytes.size(), i = 2;
  while (i + 4 <= n && p[i] == 0xFF) {
    unsigned marker = p[i + 1];
    if (marker == 0xDA || marker == 0xD9) break;  // start of scan / end of image
    size_t len = Be16(p + i + 2);
    if (len < 2 || i + 2 + len > n) break;
    if (marker == 0xE1 && len >= 8 && std::memcmp(p + i + 4, "Exif\0\0", 6) == 0) {
      const unsigned char* t = p + i + 10;
      size_t tn = len - 8;
      if (tn < 8) return 1;
      bool le = t[0] == 'I' && t[1] == 'I';
      auto r16 = [&](size_t o) { return le ? Le16(t + o) : Be16(t + o); };
      auto r32 = [&](size_t o) { return le ? Le32(t + o) : Be32(t + o); };
      size_t ifd = r32(4);
      if (ifd + 2 > tn) return 1;
      unsigned entries = r16(ifd);
      for (unsigned e = 0; e < entries; ++e) {
        size_t off = ifd + 2 + 12 * size_t(e);
        if (off + 12 > tn) return 1;
        if (r16(off) == 0x0112) {
          int v = r16(off + 8);
          return v >= 1 && v <= 8 ? v : 1;
        }
      }
      return 1;
    }
    i += 2 + len;
  }
  return 1;
}

// The number of scans (SOS markers) of a JPEG, counting at most `limit` + 1: one linear
// pass over the markers and the entropy-coded data, which holds no 0xFF followed by a byte
// other than 0x00 (stuffing), 0xD0..0xD7 (restart) or 0xFF (fill).
int JpegScanCount(std::string_view bytes, int limit) {
  const unsigned char* p = U(bytes);
  const size_t n = bytes.size();
  size_t i = 2;  // after SOI
  int scans = 0;
  while (i + 1 < n) {
    if (p[i] != 0xFF) {
      ++i;  // garbage between markers: libjpeg skips it (with a warning) too
      continue;
    }
    const unsigned marker = p[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD9) break;  // end of image
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8) || marker == 0x00) {
      i += 2;  // markers without a length
      continue;
    }
    if (i + 4 > n) break;
    const size_t len = Be16(p + i + 2);
    if (len < 2) break;
    i += 2 + len;
    if (marker != 0xDA) continue;
    if (++scans > limit) return scans;
    // Entropy-coded data up to the next marker that is not a restart or stuffing.
    while (i + 1 < n) {
      if (p[i] == 0xFF && p[i + 1] != 0x00 && p[i + 1] != 0xFF &&
          !(p[i + 1] >= 0xD0 && p[i + 1] <= 0xD7)) {
        break;
      }
      ++i;
    }
  }
  return scans;
}

absl::Status CheckSize(int width, int height, const DecodeOptions& options) {
  if (width <= 0 || height <= 0)
    return Fail(Reason::kImageCorrupt, "(no image size in the header)");
  if (options.downscale_large && std::max(width, height) > options.max_side) {
    if (std::max(width, height) > options.downscale_max_side ||
        int64_t(width) * height > options.downscale_max_pixels) {
      return Fail(Reason::kImageTooBig,
                  "(" + std::to_string(width) + "x" + std::to_string(height) +
                      " px; images are shrunk to " + std::to_string(options.max_side) +
                      " px up to " + std::to_string(options.downscale_max_side) +
                      " px a side and " + std::to_string(options.downscale_max_pixels / 1000000) +
                      " MP)");
    }
  } else if (std::max(width, height) > options.max_side) {
    return Fail(Reason::kImageTooBig, "(" + std::to_string(width) + "x" + std::to_string(height) +
                                          " px; the longest side may be at most " +
                                          std::to_string(options.max_side) + ")");
  }
  if (std::min(width, height) < options.min_side) {
    return Fail(Reason::kImageTooSmall, "(" + std::to_string(width) + "x" + std::to_string(height) +
                                            " px; the shortest side must be at least " +
                                            std::to_string(options.min_side) + ")");
  }
  return absl::OkStatus();
}

struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;

absl::StatusOr<ImageInfo> ProbeJpeg(std::string_view bytes, int* subsamp, int* colorspace) {
  TjHandle tj(tjInitDecompress());
  if (!tj) return Fail(Reason::kInternal, "(libjpeg-turbo init)");
  int w = 0, h = 0;
  if (tjDecompressHeader3(tj.get(), U(bytes), bytes.size(), &w, &h, subsamp, colorspace) != 0) {
    return Fail(Reason::kImageCorrupt,
                std::string("(JPEG header: ") + tjGetErrorStr2(tj.get()) + ")");
  }
  ImageInfo info{ImageFormat::kJpeg, w, h, JpegOrientation(bytes)};
  return info;
}

absl::StatusOr<ImageInfo> ProbePng(std::string_view bytes) {
  // Signature (8) + IHDR chunk: length (4) "IHDR" (4) width (4) height (4).
  if (bytes.size() < 24 || std::memcmp(bytes.data() + 12, "IHDR", 4) != 0) {
    return Fail(Reason::kImageCorrupt, "(PNG header is truncated)");
  }
  uint32_t w = Be32(U(bytes) + 16), h = Be32(U(bytes) + 20);
  if (w > (1u << 24) || h > (1u << 24)) return Fail(Reason::kImageTooBig, "(PNG header size)");
  return ImageInfo{ImageFormat::kPng, int(w), int(h), 1};
}

absl::StatusOr<ImageInfo> ProbeBmp(std::string_view bytes) {
  if (bytes.size() < 26) return Fail(Reason::kImageCorrupt, "(BMP header is truncated)");
  const unsigned char* p = U(bytes);
  uint32_t dib = Le32(p + 14);
  int64_t w, h;
  if (dib == 12) {  // BITMAPCOREHEADER
    w = Le16(p + 18);
    h = Le16(p + 20);
  } else {
    w = int32_t(Le32(p + 18));
    h = int32_t(Le32(p + 22));
  }
  h = h < 0 ? -h : h;
  if (w > (1 << 24) || h > (1 << 24)) return Fail(Reason::kImageTooBig, "(BMP header size)");
  return ImageInfo{ImageFormat::kBmp, int(w), int(h), 1};
}

// Adobe CMYK JPEGs store inverted values: R = C * K / 255 on the stored bytes.
cv::Mat CmykToBgr(const std::vector<unsigned char>& cmyk, int w, int h) {
  cv::Mat bgr(h, w, CV_8UC3);
  const unsigned char* s = cmyk.data();
  for (int y = 0; y < h; ++y) {
    auto* d = bgr.ptr<unsigned char>(y);
    for (int x = 0; x < w; ++x, s += 4, d += 3) {
      int k = s[3];
      d[2] = static_cast<unsigned char>(s[0] * k / 255);
      d[1] = static_cast<unsigned char>(s[1] * k / 255);
      d[0] = static_cast<unsigned char>(s[2] * k / 255);
    }
  }
  return bgr;
}

absl::StatusOr<cv::Mat> DecodeJpeg(std::string_view bytes, const ImageInfo& info, int colorspace,
                                   const DecodeOptions& options, double* scale) {
  TjHandle tj(tjInitDecompress());
  if (!tj) return Fail(Reason::kInternal, "(libjpeg-turbo init)");
  int num = 0;
  tjscalingfactor* factors = tjGetScalingFactors(&num);
  int w = info.width, h = info.height;
  double chosen = 1.0;
  if (options.min_decoded_side > 0) {
    for (int i = 0; i < num; ++i) {  // pick the smallest output still >= min_decoded_side
      const tjscalingfactor& f = factors[i];
      if (f.num != 1 || (f.denom != 2 && f.denom != 4 && f.denom != 8)) continue;
      int sw = TJSCALED(info.width, f), sh = TJSCALED(info.height, f);
      if (std::min(sw, sh) >= options.min_decoded_side && sw * sh < w * h) {
        w = sw;
        h = sh;
        chosen = 1.0 / f.denom;
      }
    }
  }
  if (JpegScanCount(bytes, options.max_jpeg_scans) > options.max_jpeg_scans) {
    return Fail(Reason::kImageCorrupt,
                "(the JPEG has more than " + std::to_string(options.max_jpeg_scans) + " scans)");
  }
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const int pixel_size = cmyk ? 4 : 3;
  std::vector<unsigned char> buf(size_t(w) * h * pixel_size);
  int rc = tjDecompress2(tj.get(), U(bytes), bytes.size(), buf.data(), w, 0, h,
                         cmyk ? TJPF_CMYK : TJPF_BGR,
                         TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS);  // and at most 500 scans
  if (rc != 0) {
    return Fail(Reason::kImageCorrupt,
                std::string("(JPEG data: ") + tjGetErrorStr2(tj.get()) + ")");
  }
  if (scale) *scale = chosen;
  if (cmyk) return CmykToBgr(buf, w, h);
  return cv::Mat(h, w, CV_8UC3, buf.data()).clone();
}

cv::Mat Orient(cv::Mat img, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(img, out, 1);
      return out;
    case 3:
      cv::rotate(img, out, cv::ROTATE_180);
      return out;
    case 4:
      cv::flip(img, out, 0);
      return out;
    case 5:
      cv::transpose(img, out);
      return out;
    case 6:
      cv::rotate(img, out, cv::ROTATE_90_CLOCKWISE);
      return out;
    case 7:
      cv::transpose(img, out);
      cv::rotate(out, out, cv::ROTATE_180);
      return out;
    case 8:
      cv::rotate(img, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      return out;
    default:
      return img;
  }
}

}  // namespace

ImageFormat SniffFormat(std::string_view b) {
  const unsigned char* p = U(b);
  if (b.size() >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return ImageFormat::kJpeg;
  if (b.size() >= 8 && std::memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) return ImageFormat::kPng;
  if (b.size() >= 2 && p[0] == 'B' && p[1] == 'M') return ImageFormat::kBmp;
  if (b.size() >= 12 && std::memcmp(p, "RIFF", 4) == 0 && std::memcmp(p + 8, "WEBP", 4) == 0) {
    return ImageFormat::kWebp;
  }
  if (b.size() >= 4 && (std::memcmp(p, "II*\0", 4) == 0 || std::memcmp(p, "MM\0*", 4) == 0)) {
    return ImageFormat::kTiff;
  }
  if (b.size() >= 6 && (std::memcmp(p, "GIF87a", 6) == 0 || std::memcmp(p, "GIF89a", 6) == 0)) {
    return ImageFormat::kGif;
  }
  if (b.size() >= 12 && std::memcmp(p + 4, "ftyp", 4) == 0) {  // ISO base media: the brand
    static constexpr const char* kHeifBrands[] = {"heic", "heix", "hevc", "hevx", "heim", "heis",
                                                  "hevm", "hevs", "mif1", "msf1", "avif", "avis"};
    for (const char* brand : kHeifBrands) {
      if (std::memcmp(p + 8, brand, 4) == 0) return ImageFormat::kHeif;
    }
  }
  return ImageFormat::kUnknown;
}

absl::StatusOr<ImageInfo> ProbeImage(std::string_view bytes, const DecodeOptions& options) {
  int subsamp = 0, colorspace = 0;
  absl::StatusOr<ImageInfo> info;
  const ImageFormat format = SniffFormat(bytes);
  switch (format) {
    case ImageFormat::kJpeg:
      info = ProbeJpeg(bytes, &subsamp, &colorspace);
      break;
    case ImageFormat::kPng:
      info = ProbePng(bytes);
      break;
    case ImageFormat::kBmp:
      info = ProbeBmp(bytes);
      break;
    case ImageFormat::kWebp:
    case ImageFormat::kTiff:
    case ImageFormat::kGif:
    case ImageFormat::kHeif:
      info = internal::ProbeOther(format, bytes);
      break;
    default:
      return Fail(Reason::kImageFormat,
                  bytes.empty() ? "(the image is empty)"
                                : "(JPEG, PNG, BMP, WebP, TIFF, GIF, HEIC and AVIF are supported)");
  }
  if (!info.ok()) return info.status();
  RETURN_IF_ERROR(CheckSize(info->width, info->height, options));
  return info;
}

absl::StatusOr<cv::Mat> DecodeImage(std::string_view bytes, const DecodeOptions& options,
                                    double* scale) {
  ASSIGN_OR_RETURN(ImageInfo info, ProbeImage(bytes, options));
  cv::Mat img;
  if (scale) *scale = 1.0;
  if (info.format == ImageFormat::kJpeg) {
    int subsamp = 0, colorspace = 0;
    RETURN_IF_ERROR(ProbeJpeg(bytes, &subsamp, &colorspace).status());
    ASSIGN_OR_RETURN(img, DecodeJpeg(bytes, info, colorspace, options, scale));
  } else if (internal::IsOtherFormat(info.format)) {
    ASSIGN_OR_RETURN(img, internal::DecodeOther(bytes, info, options.max_side));
    if (img.cols != info.width || img.rows != info.height) {
      return Fail(Reason::kImageCorrupt, "(decoded size differs from the header)");
    }
  } else {
    try {
      cv::Mat raw(1, int(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
      img = cv::imdecode(raw, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    } catch (const cv::Exception& e) {
      return Fail(Reason::kImageCorrupt, std::string("(") + e.what() + ")");
    }
    if (img.empty()) return Fail(Reason::kImageCorrupt, "(the image data cannot be decoded)");
    if (img.cols != info.width || img.rows != info.height) {
      return Fail(Reason::kImageCorrupt, "(decoded size differs from the header)");
    }
  }
  img = Orient(std::move(img), info.orientation);
  if (options.downscale_large && std::max(img.cols, img.rows) > options.max_side) {
    const double f = double(options.max_side) / std::max(img.cols, img.rows);
    cv::Mat small;
    cv::resize(img, small,
               cv::Size(std::max(1, int(img.cols * f + 0.5)), std::max(1, int(img.rows * f + 0.5))),
               0, 0, cv::INTER_AREA);
    img = std::move(small);
    if (scale) *scale *= f;
  }
  return img;
}

}  // namespace iss::features
