#include <gtest/gtest.h>

#include "kg/import.h"

namespace spade::kg {
namespace {

// Real rows of the ConceptNet 5 assertions dump (the first two from the shipped sample;
// the /wn/ and non-English ones as the 5.7 dump writes them).
const char* kAntonymWithPos =
    "/a/[/r/Antonym/,/c/en/a.m/r/,/c/en/p.m/]\t/r/Antonym\t/c/en/a.m/r\t/c/en/p.m\t{\"dataset\": "
    "\"/d/wiktionary/en\", \"license\": \"cc:by-sa/4.0\", \"sources\": [{\"@id\": "
    "\"/and/[/s/process/wikiparsec/1/,/s/resource/wiktionary/en/]\", \"contributor\": "
    "\"/s/resource/wiktionary/en\", \"process\": \"/s/process/wikiparsec/1\"}], \"surfaceText\": null, "
    "\"weight\": 3.4641016151377544}";
const char* kSurfaceText =
    "/a/[/r/Antonym/,/c/en/above/,/c/en/below/]\t/r/Antonym\t/c/en/above\t/c/en/below\t{\"dataset\": "
    "\"/d/verbosity\", \"license\": \"cc:by-sa/4.0\", \"sources\": [{\"@id\": \"/s/resource/verbosity\", "
    "\"contributor\": \"/s/resource/verbosity\"}], \"surfaceText\": \"[[above]] is the opposite of "
    "[[below]]\", \"weight\": 2.0832666655999663}";
const char* kWordNetSense =
    "/a/[/r/IsA/,/c/en/shovel/n/wn/artifact/,/c/en/hand_tool/n/wn/artifact/]\t/r/IsA\t"
    "/c/en/shovel/n/wn/artifact\t/c/en/hand_tool/n/wn/artifact\t{\"dataset\": \"/d/wordnet/3.1\", "
    "\"license\": \"cc:by-sa/4.0\", \"sources\": [{\"@id\": \"/s/resource/wordnet/rdf/3.1\"}], "
    "\"weight\": 2.0}";
const char* kFrench =
    "/a/[/r/Synonym/,/c/fr/chien/n/,/c/en/dog/n/]\t/r/Synonym\t/c/fr/chien/n\t/c/en/dog/n\t{\"dataset\": "
    "\"/d/wiktionary/fr\", \"license\": \"cc:by-sa/4.0\", \"sources\": [], \"weight\": 1.0}";

RowResult Cn5(const std::string& line, RawAssertion* a, std::string* reason, RowOptions opt = {}) {
  return ParseConceptNet5Row(line, opt, a, reason);
}

TEST(ConceptNet5Row, StripsPartOfSpeechAndKeepsJsonWeight) {
  RawAssertion a;
  std::string reason;
  ASSERT_EQ(Cn5(kAntonymWithPos, &a, &reason), RowResult::kAssertion) << reason;
  EXPECT_EQ(a.head, "a.m");
  EXPECT_EQ(a.relation, "Antonym");
  EXPECT_EQ(a.tail, "p.m");
  EXPECT_FLOAT_EQ(a.weight, 3.4641016151377544f);
  EXPECT_FALSE(a.negated);
}

TEST(ConceptNet5Row, SurfaceTextDoesNotConfuseTheWeight) {
  RawAssertion a;
  std::string reason;
  ASSERT_EQ(Cn5(kSurfaceText, &a, &reason), RowResult::kAssertion) << reason;
  EXPECT_EQ(a.head, "above");
  EXPECT_EQ(a.tail, "below");
  EXPECT_FLOAT_EQ(a.weight, 2.0832666655999663f);
}

TEST(ConceptNet5Row, WordNetSenseSuffixIsDropped) {
  RawAssertion a;
  std::string reason;
  ASSERT_EQ(Cn5(kWordNetSense, &a, &reason), RowResult::kAssertion) << reason;
  EXPECT_EQ(a.head, "shovel");
  EXPECT_EQ(a.tail, "hand_tool");
  EXPECT_EQ(a.relation, "IsA");
  EXPECT_FLOAT_EQ(a.weight, 2.0f);
}

TEST(ConceptNet5Row, OtherLanguagesAreSkippedUnlessAsked) {
  RawAssertion a;
  std::string reason;
  EXPECT_EQ(Cn5(kFrench, &a, &reason), RowResult::kSkipped);
  RowOptions all;
  all.languages.clear();
  ASSERT_EQ(Cn5(kFrench, &a, &reason, all), RowResult::kAssertion);
  EXPECT_EQ(a.head, "fr:chien");
  EXPECT_EQ(a.tail, "dog");
}

TEST(ConceptNet5Row, MalformedRowsSayWhy) {
  RawAssertion a;
  std::string reason;
  EXPECT_EQ(Cn5("a\tb\tc", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "expected 5 tab-separated columns (uri, relation, start, end, json), got 3");
  EXPECT_EQ(Cn5("/a/x\t/r/IsA\t\t/c/en/dog\t{\"weight\": 1}", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "empty field 'start'");
  EXPECT_EQ(Cn5("/a/x\t/r/IsA\t/c/en/cat\t/c/en/dog\t{\"weight\": \"heavy\"}", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "json \"weight\" is not a number");
  EXPECT_EQ(Cn5("/a/x\t/r/IsA\t/c/en/cat\t/c/en/dog\t{\"dataset\": 1}", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "json column has no \"weight\"");
  EXPECT_EQ(Cn5("/a/x\t/r/IsA\tcat\t/c/en/dog\t{\"weight\": 1}", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "field 'start' is not a concept URI /c/LANG/TEXT: 'cat'");
  EXPECT_EQ(Cn5("/a/x\t/r/IsA\t/c/en/c\xff\t/c/en/dog\t{\"weight\": 1}", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "invalid UTF-8");
  EXPECT_EQ(Cn5("/a/x\tIsA\t/c/en/cat\t/c/en/dog\t{\"weight\": 1}", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "relation 'IsA' does not start with /r/");
}

TEST(RelHeadTailRow, ConceptNet100kRow) {
  RawAssertion a;
  std::string reason;
  ASSERT_EQ(ParseRelHeadTailRow("ReceivesAction\thockey\tplay on ice\t3.4594316186372978", &a, &reason),
            RowResult::kAssertion);
  EXPECT_EQ(a.relation, "ReceivesAction");
  EXPECT_EQ(a.head, "hockey");
  EXPECT_EQ(a.tail, "play_on_ice");
  EXPECT_FLOAT_EQ(a.weight, 3.4594316186372978f);
}

TEST(RelHeadTailRow, KagNetLowercaseRelations) {
  RawAssertion a;
  std::string reason;
  ASSERT_EQ(ParseRelHeadTailRow("atlocation\tferret\tpet_store\t1.0", &a, &reason), RowResult::kAssertion);
  EXPECT_EQ(a.relation, "AtLocation");
  EXPECT_EQ(a.tail, "pet_store");
}

TEST(RelHeadTailRow, ConceptNet4NegativeScoreIsNegated) {
  RawAssertion a;
  std::string reason;
  EXPECT_EQ(ParseRelHeadTailRow("#relation\thead\ttail\tscore", &a, &reason), RowResult::kIgnored);
  ASSERT_EQ(ParseRelHeadTailRow("CapableOf\tpig\tfly\t-1.5", &a, &reason), RowResult::kAssertion);
  EXPECT_TRUE(a.negated);
  EXPECT_FLOAT_EQ(a.weight, 1.5f);
}

TEST(RelHeadTailRow, MalformedRowsSayWhy) {
  RawAssertion a;
  std::string reason;
  EXPECT_EQ(ParseRelHeadTailRow("IsA\tdog", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "expected 3 or 4 tab-separated columns, got 2");
  EXPECT_EQ(ParseRelHeadTailRow("IsA\tdog\tanimal\tx1", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "weight 'x1' is not a number");
  EXPECT_EQ(ParseRelHeadTailRow("IsA\t \tanimal", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "empty field 'head'");
  EXPECT_EQ(ParseRelHeadTailRow("Is A\tdog\tanimal", &a, &reason), RowResult::kError);
  EXPECT_EQ(reason, "bad relation 'Is A'");
  EXPECT_EQ(ParseRelHeadTailRow("IsA\tdog\tanimal\tnan", &a, &reason), RowResult::kError);
  EXPECT_EQ(ParseRelHeadTailRow("IsA\tdog\tanimal\t1\textra", &a, &reason), RowResult::kError);
  EXPECT_EQ(ParseRelHeadTailRow("IsA\tdog\tDog", &a, &reason), RowResult::kSkipped);  // self loop
}

TEST(TsvRow, HeadRelationTailWithOptionalWeight) {
  RawAssertion a;
  std::string reason;
  ASSERT_EQ(ParseTsvRow("shovel\tUsedFor\tdig", &a, &reason), RowResult::kAssertion);
  EXPECT_EQ(a.head, "shovel");
  EXPECT_EQ(a.relation, "UsedFor");
  EXPECT_EQ(a.tail, "dig");
  EXPECT_FLOAT_EQ(a.weight, 1.0f);
  EXPECT_EQ(ParseTsvRow("# comment", &a, &reason), RowResult::kIgnored);
  EXPECT_EQ(ParseTsvRow("", &a, &reason), RowResult::kIgnored);
  ASSERT_EQ(ParseTsvRow("pig\tCapableOf\tfly\t-2", &a, &reason), RowResult::kAssertion);
  EXPECT_TRUE(a.negated);
}

}  // namespace
}  // namespace spade::kg
