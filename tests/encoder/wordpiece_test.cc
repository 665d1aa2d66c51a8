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

#include "encoder/wordpiece_train.h"

namespace spade::encoder {
namespace {

TEST(WordPieceTrain, LearnsAVocabularyThatCoversTheCorpus) {
  std::vector<std::string> corpus;
  for (int i = 0; i < 30; ++i) {
    corpus.push_back("I dug the ground to plant flowers. What did I dig with? A shovel!");
    corpus.push_back("They dug the ground to build a house; they used an Excavator.");
  }
  WordPieceTrainOptions o;
  o.vocab_size = 120;
  const std::vector<std::string> vocab = TrainWordPieceVocab(corpus, o);
  EXPECT_LE(vocab.size(), 120u);
  EXPECT_EQ(vocab[0], "[PAD]");
  EXPECT_EQ(vocab[1], "[UNK]");
  const WordPieceTokenizer tok(vocab, WordPieceOptions{});
  // Frequent words became whole tokens; nothing in the corpus is unknown.
  EXPECT_EQ(tok.Tokenize("the ground"), (std::vector<std::string>{"the", "ground"}));
  for (const auto& line : corpus) {
    for (const auto& t : tok.Tokenize(line)) EXPECT_NE(t, "[UNK]") << line;
  }
  EXPECT_EQ(tok.Tokenize("excavator"), (std::vector<std::string>{"excavator"}));  // lowercased
  const auto path = std::filesystem::temp_directory_path() / ("spade_vocab_" + std::to_string(::getpid()) + ".txt");
  SaveVocabTxt(vocab, path.string());
  EXPECT_EQ(WordPieceTokenizer::FromVocabFile(path.string()).Tokenize("shovel"), tok.Tokenize("shovel"));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace spade::encoder
