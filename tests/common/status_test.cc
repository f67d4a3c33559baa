#include "common/status.h"

#include <gtest/gtest.h>

#include <set>

namespace iss {
namespace {

TEST(StatusTest, ReasonTravelsWithTheStatus) {
  absl::Status s = Fail(Reason::kGalleryNotFound, "(instance `x`)");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "(instance `x`)");
  EXPECT_EQ(ReasonOf(s), Reason::kGalleryNotFound);
  EXPECT_TRUE(Is(s, Reason::kGalleryNotFound));
  EXPECT_FALSE(Is(s, Reason::kItemNotFound));
  EXPECT_FALSE(Is(absl::OkStatus(), Reason::kInternal));
}

TEST(StatusTest, EveryReasonHasAUniqueNameAndRoundTrips) {
  std::set<std::string_view> names;
  for (Reason r : kAllReasons) {
    EXPECT_TRUE(names.insert(ReasonName(r)).second) << ReasonName(r);
    EXPECT_EQ(ReasonOf(Fail(r)), r) << ReasonName(r);
    EXPECT_NE(CanonicalCode(r), absl::StatusCode::kOk);
  }
  EXPECT_EQ(names.size(), kReasonCount);
}

TEST(StatusTest, ForeignStatusesMapByCanonicalCode) {
  EXPECT_EQ(ReasonOf(absl::InvalidArgumentError("x")), Reason::kInvalidArgument);
  EXPECT_EQ(ReasonOf(absl::DeadlineExceededError("x")), Reason::kDeadlineExceeded);
  EXPECT_EQ(ReasonOf(absl::UnauthenticatedError("x")), Reason::kUnauthenticated);
  EXPECT_EQ(ReasonOf(absl::NotFoundError("x")), Reason::kInternal);  // never guessed
  EXPECT_EQ(ReasonOf(absl::UnknownError("x")), Reason::kInternal);
}

}  // namespace
}  // namespace iss
