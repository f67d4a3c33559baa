// engine/jobs/job_codec: what the job runner stores round-trips, whatever the keys, tags
// and messages hold (the form's own separators included), and damaged values are refused.
#include "engine/jobs/job_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace iss::engine::jobs_internal {
namespace {

const std::string kOdd = "a=b;c\td\ne%41%\r\xe5\x9b\xbe.jpg";

TEST(JobCodecTest, EscapeRoundTripsEverySeparator) {
  EXPECT_EQ(Unescape(Escape(kOdd)), kOdd);
  const std::string e = Escape(kOdd);
  for (char c : {'=', ';', '\t', '\n', '\r'}) EXPECT_EQ(e.find(c), std::string::npos) << int(c);
  EXPECT_EQ(Unescape("100%"), "100%");  // a truncated escape stays as it is
}

TEST(JobCodecTest, SpecAndProgressRoundTrip) {
  JobSpec spec;
  spec.kind = JobKind::kSync;
  spec.prefix = "s3://bucket/" + kOdd;
  spec.tags = {{"src", kOdd}, {kOdd, "v"}};
  spec.interval_ms = 1234;
  spec.notify_token = "0123abcd";
  spec.folder_tag = "folder";
  int64_t entries = 0;
  absl::StatusOr<JobSpec> back = DecodeSpec(EncodeSpec(spec, 77), &entries);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, JobKind::kSync);
  EXPECT_EQ(back->prefix, spec.prefix);
  EXPECT_EQ(back->tags, spec.tags);
  EXPECT_EQ(back->interval_ms, 1234);
  EXPECT_EQ(back->notify_token, "0123abcd");
  EXPECT_EQ(back->folder_tag, "folder");
  EXPECT_EQ(entries, 77);
  EXPECT_FALSE(DecodeSpec("kind=later\n", &entries).ok());

  JobProgress p;
  p.pass = 3;
  p.listed = 10;
  p.done = 7;
  p.skipped = 1;
  p.failed = 2;
  p.removed = 4;
  p.listing_complete = true;
  p.last_pass_ms = 99;
  p.error = kOdd;
  const JobProgress q = DecodeProgress(EncodeProgress(p));
  EXPECT_EQ(q.pass, 3);
  EXPECT_EQ(q.listed + q.done + q.skipped + q.failed + q.removed, 24);
  EXPECT_TRUE(q.listing_complete);
  EXPECT_EQ(q.last_pass_ms, 99);
  EXPECT_EQ(q.error, kOdd);
}

TEST(JobCodecTest, MarksAndFailuresRoundTripAndDamageIsRefused) {
  const std::optional<KeyMark> m = DecodeMark(EncodeMark({5, Outcome::kSkipped, "abc\t1", 42}));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->pass, 5);
  EXPECT_EQ(m->outcome, Outcome::kSkipped);
  EXPECT_EQ(m->etag, "abc\t1");
  EXPECT_EQ(m->size, 42);
  EXPECT_FALSE(DecodeMark("5\tx\te\t1").has_value());
  EXPECT_FALSE(DecodeMark("5\td\te").has_value());

  const std::optional<FailureMark> f =
      DecodeFailure(EncodeFailure({2, Reason::kImageTooSmall, "s3://b/" + kOdd, kOdd}));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->reason, Reason::kImageTooSmall);
  EXPECT_EQ(f->locator, "s3://b/" + kOdd);
  EXPECT_EQ(f->message, kOdd);
  EXPECT_EQ(DecodeFailure("1\tNoSuchReason\tl\tm")->reason, Reason::kInternal);
}

TEST(JobCodecTest, ManifestChunksRoundTrip) {
  std::vector<ManifestEntry> in = {{"s3://b/" + kOdd, "", {}},
                                   {"http://h/x.jpg", kOdd, {{"k", kOdd}, {"c", "d"}}}};
  absl::StatusOr<std::vector<ManifestEntry>> out = DecodeManifest(EncodeManifest(in.data(), 2));
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*out)[i].locator, in[i].locator);
    EXPECT_EQ((*out)[i].key, in[i].key);
    EXPECT_EQ((*out)[i].tags, in[i].tags);
  }
  EXPECT_FALSE(DecodeManifest("only-one-field\n").ok());
  EXPECT_EQ(ManifestChunkName(42), "m/000042");
}

}  // namespace
}  // namespace iss::engine::jobs_internal
