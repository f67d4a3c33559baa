#include "features/other_formats.h"

#include <gif_lib.h>
#include <libheif/heif.h>
#include <webp/decode.h>

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

namespace iss::features::internal {
namespace {

const uint8_t* U(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// ---- WebP ----

absl::StatusOr<ImageInfo> ProbeWebp(std::string_view bytes) {
  WebPBitstreamFeatures f;
  if (WebPGetFeatures(U(bytes), bytes.size(), &f) != VP8_STATUS_OK) {
    return Fail(Reason::kImageCorrupt, "(WebP header cannot be read)");
  }
  if (f.has_animation) return Fail(Reason::kImageFormat, "(animated WebP is not supported)");
  return ImageInfo{ImageFormat::kWebp, f.width, f.height, 1};
}

absl::StatusOr<cv::Mat> DecodeWebp(std::string_view bytes, const ImageInfo& info) {
  cv::Mat img(info.height, info.width, CV_8UC3);
  if (WebPDecodeBGRInto(U(bytes), bytes.size(), img.data, img.step * img.rows, int(img.step)) ==
      nullptr) {
    return Fail(Reason::kImageCorrupt, "(WebP data cannot be decoded)");
  }
  return img;
}

// ---- TIFF: the first page's size and orientation from IFD0; pixels through OpenCV ----

absl::StatusOr<ImageInfo> ProbeTiff(std::string_view bytes) {
  const uint8_t* p = U(bytes);
  const size_t n = bytes.size();
  if (n < 8) return Fail(Reason::kImageCorrupt, "(TIFF header is truncated)");
  const bool le = p[0] == 'I';
  auto r16 = [&](size_t o) -> uint32_t {
    return le ? uint32_t(p[o] | p[o + 1] << 8) : uint32_t(p[o] << 8 | p[o + 1]);
  };
  auto r32 = [&](size_t o) -> uint32_t {
    return le ? r16(o) | r16(o + 2) << 16 : r16(o) << 16 | r16(o + 2);
  };
  if (r16(2) != 42) return Fail(Reason::kImageFormat, "(BigTIFF is not supported)");
  const size_t ifd = r32(4);
  if (ifd + 2 > n) return Fail(Reason::kImageCorrupt, "(TIFF directory is outside the file)");
  const uint32_t entries = r16(ifd);
  int64_t width = -1, height = -1;
  int orientation = 1;
  for (uint32_t e = 0; e < entries; ++e) {
    const size_t off = ifd + 2 + 12 * size_t(e);
    if (off + 12 > n) return Fail(Reason::kImageCorrupt, "(TIFF directory is truncated)");
    const uint32_t tag = r16(off), type = r16(off + 2);
    if (r32(off + 4) != 1 || (type != 3 && type != 4)) continue;  // one SHORT or LONG
    const uint32_t value = type == 3 ? r16(off + 8) : r32(off + 8);
    if (tag == 256) width = value;
    if (tag == 257) height = value;
    if (tag == 274 && value >= 1 && value <= 8) orientation = int(value);
  }
  if (width < 0 || height < 0) return Fail(Reason::kImageCorrupt, "(TIFF has no image size)");
  if (width > (1 << 24) || height > (1 << 24)) {
    return Fail(Reason::kImageTooBig, "(TIFF header size)");
  }
  return ImageInfo{ImageFormat::kTiff, int(width), int(height), orientation};
}

absl::StatusOr<cv::Mat> DecodeTiff(std::string_view bytes) {
  cv::Mat img;
  try {
    cv::Mat raw(1, int(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    img = cv::imdecode(raw, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    return Fail(Reason::kImageCorrupt, std::string("(") + e.what() + ")");
  }
  if (img.empty()) return Fail(Reason::kImageCorrupt, "(TIFF data cannot be decoded)");
  return img;
}

// ---- GIF: the first frame over the logical screen (transparent and uncovered: white) ----

struct GifReader {
  std::string_view bytes;
  size_t pos = 0;
};

int ReadGif(GifFileType* gif, GifByteType* out, int len) {
  auto* r = static_cast<GifReader*>(gif->UserData);
  const size_t k = std::min(size_t(std::max(len, 0)), r->bytes.size() - r->pos);
  std::memcpy(out, r->bytes.data() + r->pos, k);
  r->pos += k;
  return int(k);
}

struct GifCloser {
  void operator()(GifFileType* g) const {
    int err = 0;
    DGifCloseFile(g, &err);
  }
};

absl::StatusOr<ImageInfo> ProbeGif(std::string_view bytes) {
  if (bytes.size() < 13) return Fail(Reason::kImageCorrupt, "(GIF header is truncated)");
  const uint8_t* p = U(bytes);
  return ImageInfo{ImageFormat::kGif, p[6] | p[7] << 8, p[8] | p[9] << 8, 1};
}

absl::Status GifError(GifFileType* gif, const char* what) {
  const char* msg = GifErrorString(gif->Error);
  return Fail(Reason::kImageCorrupt,
              std::string("(GIF ") + what + ": " + (msg ? msg : "unknown error") + ")");
}

absl::StatusOr<cv::Mat> DecodeGif(std::string_view bytes, const ImageInfo& info) {
  GifReader reader{bytes};
  int err = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&reader, ReadGif, &err));
  if (!gif) {
    const char* msg = GifErrorString(err);
    return Fail(Reason::kImageCorrupt, std::string("(GIF: ") + (msg ? msg : "cannot open") + ")");
  }
  int transparent = -1;
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(gif.get(), &type) == GIF_ERROR) return GifError(gif.get(), "record");
    if (type == TERMINATE_RECORD_TYPE) break;
    if (type == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* ext = nullptr;
      if (DGifGetExtension(gif.get(), &code, &ext) == GIF_ERROR) {
        return GifError(gif.get(), "extension");
      }
      if (code == GRAPHICS_EXT_FUNC_CODE && ext != nullptr && ext[0] >= 4 && (ext[1] & 1)) {
        transparent = ext[4];
      }
      while (ext != nullptr) {
        if (DGifGetExtensionNext(gif.get(), &ext) == GIF_ERROR) {
          return GifError(gif.get(), "extension");
        }
      }
      continue;
    }
    if (type != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) return GifError(gif.get(), "frame");
    const GifImageDesc& d = gif->Image;
    // A frame larger than the screen would be decoded in full before any clipping: refused,
    // so the header's (checked) size bounds the work.
    if (d.Left < 0 || d.Top < 0 || d.Width <= 0 || d.Height <= 0 || d.Left + d.Width > info.width ||
        d.Top + d.Height > info.height) {
      return Fail(Reason::kImageCorrupt, "(GIF frame lies outside the image)");
    }
    const ColorMapObject* map = d.ColorMap ? d.ColorMap : gif->SColorMap;
    if (map == nullptr) return Fail(Reason::kImageCorrupt, "(GIF has no colour table)");
    cv::Mat img(info.height, info.width, CV_8UC3, cv::Scalar(255, 255, 255));
    std::vector<GifPixelType> line(size_t(d.Width));
    auto put_row = [&](int y) -> absl::Status {
      if (DGifGetLine(gif.get(), line.data(), d.Width) == GIF_ERROR) {
        return GifError(gif.get(), "pixels");
      }
      auto* row = img.ptr<uint8_t>(d.Top + y) + 3 * d.Left;
      for (int x = 0; x < d.Width; ++x, row += 3) {
        const int idx = line[size_t(x)];
        if (idx == transparent || idx >= map->ColorCount) continue;
        const GifColorType& c = map->Colors[idx];
        row[0] = c.Blue;
        row[1] = c.Green;
        row[2] = c.Red;
      }
      return absl::OkStatus();
    };
    if (d.Interlace) {
      static constexpr int kStart[] = {0, 4, 2, 1}, kStep[] = {8, 8, 4, 2};
      for (int pass = 0; pass < 4; ++pass) {
        for (int y = kStart[pass]; y < d.Height; y += kStep[pass]) RETURN_IF_ERROR(put_row(y));
      }
    } else {
      for (int y = 0; y < d.Height; ++y) RETURN_IF_ERROR(put_row(y));
    }
    return img;  // the first frame only
  }
  return Fail(Reason::kImageCorrupt, "(GIF has no image)");
}

// ---- HEIF / HEIC / AVIF: the primary image, its transformations (rotation, mirror) applied ----

struct HeifContextDeleter {
  void operator()(heif_context* c) const { heif_context_free(c); }
};
struct HeifHandleDeleter {
  void operator()(heif_image_handle* h) const { heif_image_handle_release(h); }
};
struct HeifImageDeleter {
  void operator()(heif_image* i) const { heif_image_release(i); }
};
struct HeifOptionsDeleter {
  void operator()(heif_decoding_options* o) const { heif_decoding_options_free(o); }
};
using HeifContext = std::unique_ptr<heif_context, HeifContextDeleter>;
using HeifHandle = std::unique_ptr<heif_image_handle, HeifHandleDeleter>;

absl::Status HeifFail(const heif_error& e, const char* what) {
  return Fail(Reason::kImageCorrupt,
              std::string("(HEIF ") + what + ": " + (e.message ? e.message : "error") + ")");
}

// Opens the file (boxes only, no pixels) and its primary image.
absl::StatusOr<std::pair<HeifContext, HeifHandle>> OpenHeif(std::string_view bytes, int max_side) {
  HeifContext ctx(heif_context_alloc());
  if (!ctx) return Fail(Reason::kInternal, "(libheif init)");
  // libheif's own allocation bound (its default is far above the service's limits).
  if (max_side > 0) heif_context_set_maximum_image_size_limit(ctx.get(), max_side);
  heif_context_set_max_decoding_threads(ctx.get(), 0);  // the caller's thread only
  heif_error e =
      heif_context_read_from_memory_without_copy(ctx.get(), bytes.data(), bytes.size(), nullptr);
  if (e.code != heif_error_Ok) return HeifFail(e, "file");
  heif_image_handle* raw = nullptr;
  e = heif_context_get_primary_image_handle(ctx.get(), &raw);
  if (e.code != heif_error_Ok) return HeifFail(e, "primary image");
  HeifHandle handle(raw);
  return std::make_pair(std::move(ctx), std::move(handle));
}

absl::StatusOr<ImageInfo> ProbeHeif(std::string_view bytes) {
  // The probe applies no size bound of its own: the caller checks what it reports.
  ASSIGN_OR_RETURN(auto opened, OpenHeif(bytes, 0));
  const heif_image_handle* h = opened.second.get();
  return ImageInfo{ImageFormat::kHeif, heif_image_handle_get_width(h),
                   heif_image_handle_get_height(h), 1};
}

absl::StatusOr<cv::Mat> DecodeHeif(std::string_view bytes, int max_side) {
  ASSIGN_OR_RETURN(auto opened, OpenHeif(bytes, max_side));
  std::unique_ptr<heif_decoding_options, HeifOptionsDeleter> options(heif_decoding_options_alloc());
  heif_image* raw = nullptr;
  heif_error e = heif_decode_image(opened.second.get(), &raw, heif_colorspace_RGB,
                                   heif_chroma_interleaved_RGB, options.get());
  if (e.code != heif_error_Ok) return HeifFail(e, "data");
  std::unique_ptr<heif_image, HeifImageDeleter> image(raw);
  int stride = 0;
  const uint8_t* plane =
      heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
  const int w = heif_image_get_width(image.get(), heif_channel_interleaved);
  const int h = heif_image_get_height(image.get(), heif_channel_interleaved);
  if (plane == nullptr || w <= 0 || h <= 0) {
    return Fail(Reason::kImageCorrupt, "(HEIF image has no pixels)");
  }
  cv::Mat rgb(h, w, CV_8UC3, const_cast<uint8_t*>(plane), size_t(stride));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

}  // namespace

bool IsOtherFormat(ImageFormat format) {
  return format == ImageFormat::kWebp || format == ImageFormat::kTiff ||
         format == ImageFormat::kGif || format == ImageFormat::kHeif;
}

absl::StatusOr<ImageInfo> ProbeOther(ImageFormat format, std::string_view bytes) {
  switch (format) {
    case ImageFormat::kWebp:
      return ProbeWebp(bytes);
    case ImageFormat::kTiff:
      return ProbeTiff(bytes);
    case ImageFormat::kGif:
      return ProbeGif(bytes);
    case ImageFormat::kHeif:
      return ProbeHeif(bytes);
    default:
      return Fail(Reason::kInternal, "(ProbeOther: not one of its formats)");
  }
}

absl::StatusOr<cv::Mat> DecodeOther(std::string_view bytes, const ImageInfo& info, int max_side) {
  switch (info.format) {
    case ImageFormat::kWebp:
      return DecodeWebp(bytes, info);
    case ImageFormat::kTiff:
      return DecodeTiff(bytes);
    case ImageFormat::kGif:
      return DecodeGif(bytes, info);
    case ImageFormat::kHeif:
      return DecodeHeif(bytes, max_side);
    default:
      return Fail(Reason::kInternal, "(DecodeOther: not one of its formats)");
  }
}

}  // namespace iss::features::internal
