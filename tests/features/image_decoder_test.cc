// Every hostile file of shared/eval/bad-inputs gets its precise error or decodes as its
// MANIFEST says; sizes are refused from the header, before pixels are allocated; a JPEG
// repeating its scans is refused before it is decoded.
#include "features/image_decoder.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/status.h"

namespace iss::features {
namespace {

// The reason of a failure by name ("" when OK): what the tests compare.
std::string ReasonCode(const absl::Status& s) {
  return s.ok() ? "" : std::string(ReasonName(ReasonOf(s)));
}

std::string ReadBad(const std::string& name) {
  std::ifstream in(std::string(ISS_SHARED_DIR) + "/eval/bad-inputs/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  const char* file;
  const char* code;           // "" = decodes
  int width = 0, height = 0;  // expected upright size when it decodes
};

class BadInputsTest : public ::testing::TestWithParam<Case> {};

TEST_P(BadInputsTest, GivesItsPreciseResult) {
  const Case& c = GetParam();
  auto img = DecodeImage(ReadBad(c.file), DecodeOptions{});
  if (std::string(c.code).empty()) {
    ASSERT_TRUE(img.ok()) << c.file << ": " << img.status();
    EXPECT_EQ(img->type(), CV_8UC3);
    EXPECT_EQ(img->cols, c.width) << c.file;
    EXPECT_EQ(img->rows, c.height) << c.file;
  } else {
    ASSERT_FALSE(img.ok()) << c.file;
    EXPECT_EQ(ReasonCode(img.status()), c.code) << c.file << ": " << img.status();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Manifest, BadInputsTest,
    ::testing::Values(
        Case{"empty.jpg", "ImageFormat"}, Case{"truncated.jpg", "ImageCorrupt"},
        Case{"truncated_header.jpg", "ImageCorrupt"}, Case{"truncated.png", "ImageCorrupt"},
        Case{"corrupt_huffman.jpg", "ImageCorrupt"}, Case{"bad_crc.png", "ImageCorrupt"},
        Case{"bomb_60000x60000.png", "ImageTooBig"},
        Case{"header_60000x60000_only.png", "ImageTooBig"},
        Case{"header_60000x60000.jpg", "ImageTooBig"}, Case{"size_99x500.jpg", "ImageTooSmall"},
        Case{"size_100x100.jpg", "", 100, 100}, Case{"size_2048x2048.jpg", "", 2048, 2048},
        Case{"size_2049x10.jpg", "ImageTooBig"}, Case{"size_100x2048.jpg", "", 100, 2048},
        Case{"size_2048x100.jpg", "", 2048, 100}, Case{"size_99x99.jpg", "ImageTooSmall"},
        Case{"size_2049x2049.jpg", "ImageTooBig"}, Case{"bitdepth1.bmp", "", 320, 200},
        Case{"rgb16_or_gray16.png", "", 320, 200}, Case{"rgb16.png", "", 320, 200},
        Case{"cmyk.jpg", "", 400, 250}, Case{"progressive.jpg", "", 640, 400},
        Case{"grayscale.jpg", "", 640, 400}, Case{"alpha.png", "", 400, 250},
        Case{"palette.png", "", 400, 250}, Case{"unsupported.gif", "", 320, 200},
        Case{"unsupported.webp", "", 320, 200}, Case{"unsupported.tiff", "", 320, 200},
        Case{"unsupported.svg", "ImageFormat"}, Case{"text_renamed.jpg", "ImageFormat"},
        Case{"gif_renamed.jpg", "", 320, 200}, Case{"png_renamed.jpg", "", 320, 200},
        Case{"animated.png", "", 320, 200}, Case{"exif_orientation6.jpg", "", 400, 640},
        Case{"random_bytes.jpg", "ImageFormat"}, Case{"jpeg_magic_only.jpg", "ImageCorrupt"}),
    [](const auto& info) {
      std::string n = info.param.file;
      for (char& ch : n) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return n;
    });

TEST(ImageDecoderTest, BombIsRefusedWithoutAllocatingPixels) {
  // With the address space capped at 2 GiB over the current use, decoding the 3.6 GB
  // bomb could not even be attempted: the header check must refuse it first.
  std::string bomb = ReadBad("bomb_60000x60000.png");
  auto info = ProbeImage(bomb, DecodeOptions{});
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(ReasonCode(info.status()), "ImageTooBig");
}

TEST(ImageDecoderTest, JpegDecodesScaledToNearTargetSize) {
  std::string jpeg = ReadBad("size_2048x2048.jpg");
  DecodeOptions opt;
  opt.min_decoded_side = 224;
  double scale = 0;
  auto img = DecodeImage(jpeg, opt, &scale);
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ(scale, 1.0 / 8);
  EXPECT_EQ(img->cols, 256);
}

// A flat grey 2048 x 2048 progressive JPEG (libjpeg, scans: DC, then AC 1..63 without
// successive approximation) with its AC scan written `ac_scans` times: valid, decoded
// without a warning, each repeat 16 bytes and a pass over all 65536 blocks. (The same file
// as tests/integration/test_reliability.py's.)
std::string RepeatedScans(int ac_scans) {
  auto hex = [](const char* h) {
    std::string out;
    for (; h[0] && h[1]; h += 2) out.push_back(char(std::stoi(std::string(h, 2), nullptr, 16)));
    return out;
  };
  std::string j =
      hex("ffd8ffe000104a46494600010100000100010000ffdb0043000302020302020303030304030304050805"
          "050404050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f17181614"
          "1812141514ffc2000b080800080001011100ffc40014000100000000000000000000000000000000ffda"
          "0008010100000000");
  j += std::string(8192, '\0');
  j += hex("ffc400151001010000000000000000000000000000e010");
  const std::string scan = hex("ffda0008010100013f007ffeff00fe7f");
  for (int i = 0; i < ac_scans; ++i) j += scan;
  return j + hex("ffd9");
}

TEST(ImageDecoderTest, JpegScansAreLimitedBeforeDecoding) {
  DecodeOptions opt;
  opt.min_decoded_side = 224;
  auto ok = DecodeImage(RepeatedScans(99), opt);  // 100 scans: the limit
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->cols, 256);
  const auto t0 = std::chrono::steady_clock::now();
  auto refused = DecodeImage(RepeatedScans(30000), opt);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ReasonCode(refused.status()), "ImageCorrupt");
  EXPECT_NE(refused.status().message().find("scans"), std::string::npos);
  EXPECT_LT(took, 1.0);  // counted, not decoded (decoding them took ~35 s)
  opt.max_jpeg_scans = 10;
  EXPECT_EQ(ReasonCode(DecodeImage(RepeatedScans(10), opt).status()), "ImageCorrupt");
  EXPECT_TRUE(DecodeImage(RepeatedScans(9), opt).ok());
}

TEST(ImageDecoderTest, SniffsByContentNotName) {
  EXPECT_EQ(SniffFormat(ReadBad("png_renamed.jpg")), ImageFormat::kPng);
  EXPECT_EQ(SniffFormat(ReadBad("gif_renamed.jpg")), ImageFormat::kGif);
  EXPECT_EQ(SniffFormat(ReadBad("unsupported.webp")), ImageFormat::kWebp);
  EXPECT_EQ(SniffFormat(ReadBad("unsupported.tiff")), ImageFormat::kTiff);
  EXPECT_EQ(SniffFormat(ReadBad("unsupported.svg")), ImageFormat::kUnknown);
}

// A 320 x 200 colour gradient: every pixel different enough to catch a channel swap.
cv::Mat Gradient() {
  cv::Mat img(200, 320, CV_8UC3);
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 255 / 319), uchar(y * 255 / 199), uchar(40));
    }
  }
  return img;
}

std::string Encode(const cv::Mat& img, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, img, buf, params)) << ext;
  return std::string(buf.begin(), buf.end());
}

TEST(ImageDecoderTest, LosslessWebpAndTiffDecodeToTheSamePixels) {
  const cv::Mat img = Gradient();
  for (const std::string& bytes :
       {Encode(img, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}), Encode(img, ".tiff")}) {
    auto out = DecodeImage(bytes, DecodeOptions{});
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->size(), img.size());
    EXPECT_EQ(cv::norm(*out, img, cv::NORM_INF), 0.0);  // BGR order kept, nothing lost
  }
}

TEST(ImageDecoderTest, OtherFormatsHaveTheSameSizeLimitsFromTheHeader) {
  // A GIF's logical screen of 3000 x 2000: refused from its 13 header bytes.
  std::string gif = std::string("GIF89a") + "\xb8\x0b\xd0\x07" + std::string("\x80\x00\x00", 3) +
                    std::string(6, '\0') + ";";
  EXPECT_EQ(ReasonCode(ProbeImage(gif, DecodeOptions{}).status()), "ImageTooBig");
  // A 200 x 200 GIF whose frame claims 300 x 10: refused before its pixels are decoded.
  std::string frame = std::string("GIF89a") + std::string("\xc8\x00\xc8\x00\x80\x00\x00", 7) +
                      std::string("\x00\x00\x00\xff\xff\xff", 6) +
                      std::string("\x2c\x00\x00\x00\x00\x2c\x01\x0a\x00\x00\x02\x00;", 14);
  EXPECT_EQ(ReasonCode(DecodeImage(frame, DecodeOptions{}).status()), "ImageCorrupt");
  // A TIFF whose first directory says 5000 x 120 (little-endian, two LONG entries).
  std::string tiff("II*\0\x08\0\0\0\x02\0", 10);
  tiff += std::string("\x00\x01\x04\x00\x01\x00\x00\x00\x88\x13\x00\x00", 12);  // 256 = 5000
  tiff += std::string("\x01\x01\x04\x00\x01\x00\x00\x00\x78\x00\x00\x00", 12);  // 257 = 120
  tiff += std::string(4, '\0');
  auto info = ProbeImage(tiff, DecodeOptions{});
  EXPECT_EQ(ReasonCode(info.status()), "ImageTooBig") << info.status();
  // The same directory at 50 x 120: too small.
  tiff[18] = '\x32';
  tiff[19] = '\0';
  EXPECT_EQ(ReasonCode(ProbeImage(tiff, DecodeOptions{}).status()), "ImageTooSmall");
  // A WebP cut in half: damaged, not a crash; its header alone still probes.
  const std::string webp = Encode(Gradient(), ".webp", {cv::IMWRITE_WEBP_QUALITY, 90});
  const std::string half = webp.substr(0, webp.size() / 2);
  EXPECT_TRUE(ProbeImage(half, DecodeOptions{}).ok());
  EXPECT_EQ(ReasonCode(DecodeImage(half, DecodeOptions{}).status()), "ImageCorrupt");
  // HEIF brands with nothing behind them.
  std::string heic(
      "\0\0\0\x18"
      "ftypheic\0\0\0\0mif1heic",
      24);
  EXPECT_EQ(SniffFormat(heic), ImageFormat::kHeif);
  EXPECT_EQ(ReasonCode(DecodeImage(heic, DecodeOptions{}).status()), "ImageCorrupt");
}

TEST(ImageDecoderTest, LargeImagesAreShrunkOnlyWhenAskedAndWithinTheirLimits) {
  // A 4032 x 3024 phone-size photo (PNG: no DCT scaling to help).
  cv::Mat big(3024, 4032, CV_8UC3, cv::Scalar(30, 60, 90));
  big(cv::Rect(0, 0, 2016, 3024)).setTo(cv::Scalar(200, 100, 50));
  const std::string png = Encode(big, ".png");
  EXPECT_EQ(ReasonCode(DecodeImage(png, DecodeOptions{}).status()), "ImageTooBig");  // default
  DecodeOptions opt;
  opt.downscale_large = true;
  double scale = 0;
  auto img = DecodeImage(png, opt, &scale);
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ(img->cols, 2048);
  EXPECT_EQ(img->rows, 1536);
  EXPECT_DOUBLE_EQ(scale, 2048.0 / 4032);
  EXPECT_EQ(img->at<cv::Vec3b>(700, 100), cv::Vec3b(200, 100, 50));  // the left half, shrunk
  EXPECT_EQ(img->at<cv::Vec3b>(700, 2000), cv::Vec3b(30, 60, 90));
  // Still refused: a bomb's header, past the side or pixel bound even when shrinking.
  EXPECT_EQ(ReasonCode(DecodeImage(ReadBad("bomb_60000x60000.png"), opt).status()), "ImageTooBig");
  opt.downscale_max_pixels = 10'000'000;
  EXPECT_EQ(ReasonCode(DecodeImage(png, opt).status()), "ImageTooBig");
  // And small images are still small.
  EXPECT_EQ(ReasonCode(DecodeImage(ReadBad("size_99x99.jpg"), opt).status()), "ImageTooSmall");
}

}  // namespace
}  // namespace iss::features
