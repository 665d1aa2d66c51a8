#include "kg/normalize.h"

#include <gtest/gtest.h>

#include "data/error.h"

namespace spade::kg {
namespace {

TEST(Normalize, LowercasesAndJoinsWordsWithUnderscores) {
  EXPECT_EQ(NormalizeConcept("Ice Cream"), "ice_cream");
  EXPECT_EQ(NormalizeConcept("  play   on_ice  "), "play_on_ice");
  EXPECT_EQ(NormalizeConcept("a__b"), "a_b");
  EXPECT_EQ(NormalizeConcept("___"), "");
  EXPECT_EQ(NormalizeConcept("u."), "u.");
}

TEST(Normalize, FoldsUnicodeCaseAndComposes) {
  EXPECT_EQ(NormalizeConcept("\xC3\x89" "clair"), "\xC3\xA9" "clair");  // Éclair -> éclair
  EXPECT_EQ(NormalizeConcept("E\xCC\x81" "clair"), "\xC3\xA9" "clair");  // E + combining acute -> é
}

TEST(Normalize, IsIdempotent) {
  for (const char* s : {"Ice Cream", "\xC3\x89" "T\xC3\xA9", "a b_c", "dog"}) {
    std::string once = NormalizeConcept(s);
    EXPECT_EQ(NormalizeConcept(once), once);
  }
}

TEST(Normalize, RejectsInvalidUtf8) {
  EXPECT_THROW(NormalizeConcept("bad \xff byte"), Error);
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));  // emoji
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));         // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));     // UTF-16 surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80")); // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));         // truncated sequence
}

}  // namespace
}  // namespace spade::kg
