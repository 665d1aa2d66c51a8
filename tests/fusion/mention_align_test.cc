// Mention-to-token alignment (fusion/mention_align.h): word-at-a-time encoding equals the
// tokenizer's own encoding of the whole text on real CommonsenseQA questions (BERT's
// WordPiece vocabulary and the shipped encoder's SentencePiece model), and mentions land
// on the first subword of their first word, longest first, inside hyphenated words too.
#include "fusion/mention_align.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/line_reader.h"
#include "data/mcq.h"
#include "encoder/error.h"
#include "encoder/sentencepiece.h"
#include "encoder/wordpiece.h"

namespace spade::fusion {
namespace {

const std::string kSource = SPADE_SOURCE_DIR;

retrieval::Mention M(std::string_view text, std::string_view surface, std::string name, size_t from = 0) {
  retrieval::Mention m;
  m.begin = text.find(surface, from);
  EXPECT_NE(m.begin, std::string_view::npos) << surface;
  m.end = m.begin + surface.size();
  m.surface = std::string(surface);
  m.concept_name = std::move(name);
  return m;
}

// "stem choice" for each choice of the first n dev questions.
std::vector<std::string> DevTexts(size_t n) {
  LineReader in(kSource + "/data/qa/csqa/dev.jsonl.gz");
  std::vector<std::string> out;
  std::string_view line;
  int lineno = 0;
  while (static_cast<size_t>(lineno) < n && in.Next(&line) == LineReader::Status::kLine) {
    const data::McqItem item = data::ParseMcqLine(line, "dev:" + std::to_string(++lineno));
    for (const auto& c : item.choices) out.push_back(item.stem + " " + c.text);
  }
  return out;
}

class WordPieceAlign : public ::testing::Test {
 protected:
  encoder::WordPieceTokenizer tok =
      encoder::WordPieceTokenizer::FromVocabFile(kSource + "/data/tokenizers/bert-base-uncased-vocab.txt");
  EncodeFn encode = [this](const std::string& s) { return tok.Encode(s, /*add_special_tokens=*/false); };
  std::vector<std::string> Pieces(const AlignedText& a) const {
    std::vector<std::string> p;
    for (int32_t id : a.ids) p.push_back(tok.IdToToken(id));
    return p;
  }
};

TEST_F(WordPieceAlign, WordAtATimeEqualsWholeTextOnDevQuestions) {
  const auto texts = DevTexts(200);
  ASSERT_GE(texts.size(), 1000u);
  for (const auto& t : texts) ASSERT_EQ(AlignMentions(t, {}, encode).ids, tok.Encode(t, false)) << t;
}

TEST_F(WordPieceAlign, MentionsLandOnTheFirstSubwordOfTheirFirstWord) {
  const std::string text = "I dug the ground to plant sunflowers.";
  const std::vector<retrieval::Mention> ms = {M(text, "dug", "dig"), M(text, "ground", "ground"),
                                              M(text, "sunflowers", "sunflower"), M(text, "plant", "plant")};
  const AlignedText a = AlignMentions(text, ms, encode);
  const auto p = Pieces(a);
  // "sunflowers" is split into subwords; its mention sits on the first of them.
  ASSERT_EQ(p, (std::vector<std::string>{"i", "dug", "the", "ground", "to", "plant", "sun", "##flower", "##s", "."}));
  ASSERT_EQ(a.aligned.size(), 4u);
  EXPECT_EQ(a.aligned[0].token, 1);
  EXPECT_EQ(a.aligned[0].mention, 0u);
  EXPECT_EQ(a.aligned[1].token, 3);
  EXPECT_EQ(a.aligned[2].token, 5);
  EXPECT_EQ(a.aligned[2].mention, 3u);  // in token order, not mention order
  EXPECT_EQ(a.aligned[3].token, 6);
  EXPECT_EQ(a.aligned[3].mention, 2u);
  EXPECT_EQ(a.word_of_token, (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 6, 6, 6}));
}

TEST_F(WordPieceAlign, OverlappingAndMultiWordMentionsLongestWins) {
  const std::string text = "he ate ice cream";
  // Grounding keeps nested mentions: ice_cream, ice and cream.
  const std::vector<retrieval::Mention> ms = {M(text, "ice", "ice"), M(text, "ice cream", "ice_cream"),
                                              M(text, "cream", "cream")};
  const AlignedText a = AlignMentions(text, ms, encode);
  ASSERT_EQ(a.aligned.size(), 2u);
  EXPECT_EQ(a.aligned[0].token, 2);
  EXPECT_EQ(a.aligned[0].mention, 1u);  // ice_cream beats ice on the token "ice"
  EXPECT_EQ(a.aligned[1].token, 3);
  EXPECT_EQ(a.aligned[1].mention, 2u);
  EXPECT_EQ(a.dropped_overlapping, 1);
}

TEST_F(WordPieceAlign, MentionInsideAWordFindsItsToken) {
  const std::string text = "an ice-cream cone, don't drop it";
  const std::vector<retrieval::Mention> ms = {M(text, "ice", "ice"), M(text, "cream", "cream"),
                                              M(text, "cone", "cone"), M(text, "drop", "drop")};
  const AlignedText a = AlignMentions(text, ms, encode);
  const auto p = Pieces(a);
  ASSERT_EQ(p, (std::vector<std::string>{"an", "ice", "-", "cream", "cone", ",", "don", "'", "t", "drop", "it"}));
  ASSERT_EQ(a.aligned.size(), 4u);
  EXPECT_EQ(a.aligned[0].token, 1);
  EXPECT_EQ(a.aligned[1].token, 3);  // after "ice" "-", not the word's first token
  EXPECT_EQ(a.aligned[2].token, 4);
  EXPECT_EQ(a.aligned[3].token, 9);
}

TEST_F(WordPieceAlign, TruncationDropsLateMentionsAndCountsThem) {
  const std::string text = "a shovel is used for digging holes";
  const std::vector<retrieval::Mention> ms = {M(text, "shovel", "shovel"), M(text, "holes", "hole")};
  const AlignedText a = AlignMentions(text, ms, encode, /*max_tokens=*/4);
  EXPECT_EQ(a.ids.size(), 4u);
  ASSERT_EQ(a.aligned.size(), 1u);
  EXPECT_EQ(a.aligned[0].token, 1);
  EXPECT_EQ(a.dropped_truncated, 1);
}

TEST_F(WordPieceAlign, BadSpansAreClearErrors) {
  const std::string text = "a rake";
  retrieval::Mention m;
  m.concept_name = "rake";
  m.begin = 2;
  m.end = 40;
  try {
    AlignMentions(text, {m}, encode);
    FAIL() << "expected an error";
  } catch (const encoder::Error& e) {
    EXPECT_NE(std::string(e.what()).find("mention 0 ('rake'): span [2, 40)"), std::string::npos) << e.what();
  }
  m.end = 2;
  EXPECT_THROW(AlignMentions(text, {m}, encode), encoder::Error);
}

TEST(SentencePieceAlign, WordAtATimeEqualsWholeTextWithTheShippedModel) {
  const auto tok = encoder::SentencePieceTokenizer::FromModelDir(kSource + "/data/models/encoder");
  EncodeFn encode = [&](const std::string& s) { return tok.Encode(s, false); };
  const auto texts = DevTexts(200);
  int differ = 0;
  for (const auto& t : texts) {
    if (AlignMentions(t, {}, encode).ids != tok.Encode(t, false)) {
      if (++differ <= 3) ADD_FAILURE() << t;
    }
  }
  EXPECT_EQ(differ, 0);
  // And a mention lands on its word's first piece.
  const std::string text = "I dug the ground to build a house";
  const AlignedText a = AlignMentions(text, {M(text, "house", "house")}, encode);
  ASSERT_EQ(a.aligned.size(), 1u);
  EXPECT_EQ(a.word_of_token[static_cast<size_t>(a.aligned[0].token)], 7u);
  EXPECT_TRUE(a.aligned[0].token == 0 || a.word_of_token[static_cast<size_t>(a.aligned[0].token) - 1] == 6u);
}

}  // namespace
}  // namespace spade::fusion
