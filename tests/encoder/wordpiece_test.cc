// WordPiece goldens: tests/encoder/goldens/wordpiece_{uncased,cased}.jsonl were written by
// tools/reference/make_tokenizer_goldens.py (BERT's reference algorithm in Python with
// unicodedata); the C++ tokenizer must reproduce every token and id.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "encoder/error.h"
#include "encoder/wordpiece.h"

namespace spade::encoder {
namespace {

const std::string kRoot = SPADE_SOURCE_DIR;
const std::string kVocab = kRoot + "/data/tokenizers/bert-base-uncased-vocab.txt";

void CheckGolden(const std::string& file, bool lower) {
  WordPieceOptions o;
  o.do_lower_case = lower;
  const WordPieceTokenizer tok = WordPieceTokenizer::FromVocabFile(kVocab, o);
  std::ifstream in(kRoot + "/tests/encoder/goldens/" + file);
  ASSERT_TRUE(in) << file;
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    const std::string text = j["text"].get<std::string>();
    SCOPED_TRACE(text);
    EXPECT_EQ(tok.Tokenize(text), j["tokens"].get<std::vector<std::string>>());
    std::vector<int32_t> ids = j["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.Encode(text, /*add_special_tokens=*/false), ids);
    ++cases;
  }
  EXPECT_GE(cases, 25);
}

TEST(WordPiece, UncasedGoldens) { CheckGolden("wordpiece_uncased.jsonl", true); }
TEST(WordPiece, CasedGoldens) { CheckGolden("wordpiece_cased.jsonl", false); }

TEST(WordPiece, EncodeAddsClsAndSep) {
  const auto tok = WordPieceTokenizer::FromVocabFile(kVocab);
  EXPECT_EQ(tok.Encode("hello world"), (std::vector<int32_t>{101, 7592, 2088, 102}));
  EXPECT_EQ(tok.IdToToken(101), "[CLS]");
  EXPECT_EQ(tok.TokenToId("no-such-token-xyz"), 100);
  EXPECT_THROW(tok.IdToToken(30522), Error);
}

TEST(WordPiece, OverlongWordIsUnknownAndInvalidUtf8IsDropped) {
  const auto tok = WordPieceTokenizer::FromVocabFile(kVocab);
  EXPECT_EQ(tok.Tokenize(std::string(101, 'a')), (std::vector<std::string>{"[UNK]"}));
  EXPECT_EQ(tok.Tokenize("ab\xff\xfe" "c"), (std::vector<std::string>{"abc"}));
}

TEST(WordPiece, TokenizerConfigTurnsLowercasingOff) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("spade_wp_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(kVocab, dir / "vocab.txt", fs::copy_options::overwrite_existing);
  EXPECT_TRUE(WordPieceTokenizer::FromModelDir(dir.string()).options().do_lower_case);  // default on
  std::ofstream(dir / "tokenizer_config.json") << R"({"do_lower_case": false})";
  const auto tok = WordPieceTokenizer::FromModelDir(dir.string());
  EXPECT_FALSE(tok.options().do_lower_case);
  EXPECT_EQ(tok.Tokenize("Hello"), (std::vector<std::string>{"[UNK]"}));  // no "Hello" in an uncased vocab
  fs::remove_all(dir);
}

TEST(WordPiece, MissingVocabNamesTheFile) {
  try {
    WordPieceTokenizer::FromVocabFile("/nonexistent/vocab.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vocab.txt"), std::string::npos);
  }
}

}  // namespace
}  // namespace spade::encoder
