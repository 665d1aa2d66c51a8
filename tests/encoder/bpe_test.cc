// GPT-2 byte-level BPE: the pre-tokenisation pattern on hand-worked cases, merges applied
// by rank, lossless round trips for any bytes, and training + save/load.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "encoder/bpe.h"
#include "encoder/error.h"

namespace spade::encoder {
namespace {

using Strings = std::vector<std::string>;

TEST(Bpe, PreTokenizeFollowsGpt2Pattern) {
  EXPECT_EQ(ByteLevelBpe::PreTokenize("Hello world's 123!!"), (Strings{"Hello", " world", "'s", " 123", "!!"}));
  EXPECT_EQ(ByteLevelBpe::PreTokenize("a   b"), (Strings{"a", "  ", " b"}));
  EXPECT_EQ(ByteLevelBpe::PreTokenize("x \tb"), (Strings{"x", " ", "\t", "b"}));
  EXPECT_EQ(ByteLevelBpe::PreTokenize("end  "), (Strings{"end", "  "}));
  EXPECT_EQ(ByteLevelBpe::PreTokenize("I'll they're"), (Strings{"I", "'ll", " they", "'re"}));
  EXPECT_EQ(ByteLevelBpe::PreTokenize("h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C"),
            (Strings{"h\xC3\xA9llo", " \xE4\xB8\x96\xE7\x95\x8C"}));
  EXPECT_EQ(ByteLevelBpe::PreTokenize("\xF0\x9F\x98\x80!? ok"), (Strings{"\xF0\x9F\x98\x80!?", " ok"}));
  EXPECT_EQ(ByteLevelBpe::PreTokenize("line\nnext"), (Strings{"line", "\n", "next"}));
  EXPECT_TRUE(ByteLevelBpe::PreTokenize("").empty());
}

ByteLevelBpe HandMade() {
  std::unordered_map<std::string, int32_t> vocab;
  // Byte tokens for the letters used, plus Ġ (space) and the merged tokens.
  int id = 0;
  for (const char* t : {"h", "e", "l", "o", "w", "r", "d", "\xC4\xA0", "\xC4\xA0w", "or", "\xC4\xA0wor", "ld",
                        "\xC4\xA0world"}) {
    vocab[t] = id++;
  }
  return ByteLevelBpe(vocab, {{"\xC4\xA0", "w"}, {"o", "r"}, {"\xC4\xA0w", "or"}, {"l", "d"}, {"\xC4\xA0wor", "ld"}});
}

TEST(Bpe, MergesApplyByRank) {
  const ByteLevelBpe bpe = HandMade();
  EXPECT_EQ(bpe.Tokenize("hello world"), (Strings{"h", "e", "l", "l", "o", "\xC4\xA0world"}));
  EXPECT_EQ(bpe.Encode("hello world"), (std::vector<int32_t>{0, 1, 2, 2, 3, 12}));
  EXPECT_EQ(bpe.Decode(bpe.Encode("hello world")), "hello world");
  EXPECT_THROW(bpe.Encode("z"), Error);  // "z" is not in this toy vocab
}

TEST(Bpe, TrainSaveLoadAndLosslessRoundTrip) {
  std::vector<std::string> corpus;
  for (int i = 0; i < 50; ++i) {
    corpus.push_back("I dug the ground to plant flowers. What did I dig with? A shovel!");
    corpus.push_back("They dug the ground to build a house; they used an excavator.");
  }
  BpeTrainOptions o;
  o.vocab_size = 300;
  const ByteLevelBpe bpe = ByteLevelBpe::Train(corpus, o);
  EXPECT_EQ(bpe.vocab_size(), 300);
  EXPECT_EQ(bpe.TokenToId("<|endoftext|>"), 299);
  const std::string text = "I dug the ground \xF0\x9F\x98\x80 caf\xC3\xA9 \xFF\xFE raw\tbytes\n";
  const auto ids = bpe.Encode(text);
  EXPECT_LT(ids.size(), text.size());  // merges learned something
  EXPECT_EQ(bpe.Decode(ids), text);
  const auto dir = std::filesystem::temp_directory_path() / ("spade_bpe_" + std::to_string(::getpid()));
  bpe.Save(dir.string());
  const ByteLevelBpe loaded = ByteLevelBpe::FromModelDir(dir.string());
  EXPECT_EQ(loaded.Encode(text), ids);
  EXPECT_EQ(loaded.Decode({loaded.TokenToId("<|endoftext|>")}), "<|endoftext|>");
  std::filesystem::remove_all(dir);
}

TEST(Bpe, MalformedMergesNameTheLine) {
  const auto dir = std::filesystem::temp_directory_path() / ("spade_bpe_bad_" + std::to_string(::getpid()));
  HandMade().Save(dir.string());
  {
    std::ofstream m(dir / "merges.txt");
    m << "#version: 0.2\nh e\nbad_line_without_space\n";
  }
  try {
    ByteLevelBpe::FromModelDir(dir.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("merges.txt:3"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spade::encoder
