// Every hostile file of shared/eval/bad-inputs gets its precise error or decodes as its
// MANIFEST says; sizes are refused from the header, before pixels are allocated; a JPEG
// repeating its scans is refused before it is decoded.
#include "features/image_decoder.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

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
        Case{"palette.png", "", 400, 250}, Case{"unsupported.gif", "ImageFormat"},
        Case{"unsupported.webp", "ImageFormat"}, Case{"unsupported.tiff", "ImageFormat"},
        Case{"unsupported.svg", "ImageFormat"}, Case{"text_renamed.jpg", "ImageFormat"},
        Case{"gif_renamed.jpg", "ImageFormat"}, Case{"png_renamed.jpg", "", 320, 200},
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
  EXPECT_EQ(SniffFormat(ReadBad("gif_renamed.jpg")), ImageFormat::kUnknown);
}

}  // namespace
}  // namespace iss::features
