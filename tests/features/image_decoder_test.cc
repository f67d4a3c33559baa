// Every hostile file of shared/eval/bad-inputs gets its precise error or decodes as its
// MANIFEST says; sizes are refused from the header, before pixels are allocated.
#include "features/image_decoder.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

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

TEST(ImageDecoderTest, SniffsByContentNotName) {
  EXPECT_EQ(SniffFormat(ReadBad("png_renamed.jpg")), ImageFormat::kPng);
  EXPECT_EQ(SniffFormat(ReadBad("gif_renamed.jpg")), ImageFormat::kUnknown);
}

}  // namespace
}  // namespace iss::features
