// SentencePiece through libsentencepiece: train a small model, load it as ALBERT does,
// check ALBERT's special-token layout, preprocessing and the encode/decode round trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "encoder/error.h"
#include "encoder/sentencepiece.h"

namespace spade::encoder {
namespace {

namespace fs = std::filesystem;

class SentencePiece : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("spade_spm_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    std::ofstream corpus(*dir_ / "corpus.txt");
    const char* words[] = {"shovel", "flowers", "plant", "ground", "house", "excavator", "dig", "build", "garden",
                           "the", "a", "with", "to", "i", "what", "did"};
    for (int i = 0; i < 400; ++i) {
      for (int j = 0; j < 8; ++j) corpus << words[(i * 7 + j * 3) % 16] << (j < 7 ? " " : "\n");
    }
    corpus.close();
    SentencePieceTrainOptions o;
    o.vocab_size = 40;
    SentencePieceTokenizer::Train({(*dir_ / "corpus.txt").string()}, (*dir_ / "spiece").string(), o);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static fs::path* dir_;
};

fs::path* SentencePiece::dir_ = nullptr;

TEST_F(SentencePiece, AlbertSpecialTokenLayout) {
  auto sp = SentencePieceTokenizer::Load((*dir_ / "spiece.model").string());
  EXPECT_EQ(sp.vocab_size(), 40);
  EXPECT_EQ(sp.IdToPiece(0), "<pad>");
  EXPECT_EQ(sp.IdToPiece(1), "<unk>");
  EXPECT_EQ(sp.PieceToId("[CLS]"), 2);
  EXPECT_EQ(sp.PieceToId("[SEP]"), 3);
  EXPECT_EQ(sp.PieceToId("[MASK]"), 4);
}

TEST_F(SentencePiece, EncodeAddsClsSepAndRoundTrips) {
  auto sp = SentencePieceTokenizer::Load((*dir_ / "spiece.model").string());
  const auto ids = sp.Encode("I  dug the GROUND with a shovel");
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), 2);
  EXPECT_EQ(ids.back(), 3);
  const std::vector<int32_t> body(ids.begin() + 1, ids.end() - 1);
  EXPECT_EQ(sp.Decode(body), "i dug the ground with a shovel");
  EXPECT_EQ(sp.Tokenize("shovel").front(), "\xE2\x96\x81" "shovel");  // ▁shovel
}

TEST_F(SentencePiece, PreprocessingLikeAlbertTokenizer) {
  auto sp = SentencePieceTokenizer::Load((*dir_ / "spiece.model").string());
  EXPECT_EQ(sp.Preprocess("  Café  ``quoted''\tText "), "cafe \"quoted\" text");
  SentencePieceOptions keep;
  keep.keep_accents = true;
  keep.do_lower_case = false;
  auto cased = SentencePieceTokenizer::Load((*dir_ / "spiece.model").string(), keep);
  EXPECT_EQ(cased.Preprocess("Café"), "Café");
}

TEST_F(SentencePiece, TokenizerConfigKeepsCase) {
  const fs::path model_dir = *dir_ / "model";
  fs::create_directories(model_dir);
  fs::copy_file(*dir_ / "spiece.model", model_dir / "spiece.model", fs::copy_options::overwrite_existing);
  EXPECT_EQ(SentencePieceTokenizer::FromModelDir(model_dir.string()).Preprocess("ABC"), "abc");  // default lowercases
  std::ofstream(model_dir / "tokenizer_config.json") << R"({"do_lower_case": false, "keep_accents": true})";
  EXPECT_EQ(SentencePieceTokenizer::FromModelDir(model_dir.string()).Preprocess("\xC3\x89t\xC3\xA9"),
            "\xC3\x89t\xC3\xA9");
}

TEST(SentencePieceErrors, MissingAndCorruptModelNameTheFile) {
  EXPECT_THROW(SentencePieceTokenizer::Load("/nonexistent/spiece.model"), Error);
  const fs::path bad = fs::temp_directory_path() / ("spade_bad_spm_" + std::to_string(::getpid()));
  std::ofstream(bad) << "not a model";
  try {
    SentencePieceTokenizer::Load(bad.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos);
  }
  fs::remove(bad);
}

}  // namespace
}  // namespace spade::encoder
