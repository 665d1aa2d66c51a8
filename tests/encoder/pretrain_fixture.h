// A synthetic corpus directory whose every token tells where it came from: sentence k of the
// corpus is "sK sKx" (WordPiece: sK, sK, ##x), documents of kSentencesPerDoc sentences, with a
// WordPiece vocabulary in tokenizers/wordpiece/. Lets tests check which sentences a pretraining
// sequence was built from.
#pragma once

#include <filesystem>
#include <string>

#include "encoder/pretrain_data.h"
#include "tests/test_util.h"

namespace spade::testing {

struct SyntheticCorpus {
  static constexpr int kDocs = 20;
  static constexpr int kSentencesPerDoc = 6;
  static constexpr int kSpecials = 6;  // [PAD] [UNK] [CLS] [SEP] [MASK] ##x

  TempDir dir;
  encoder::TextTokenizer tok;
  encoder::TokenizedCorpus corpus;

  SyntheticCorpus() {
    const int n = kDocs * kSentencesPerDoc;
    std::filesystem::create_directories(dir / "tokenizers/wordpiece");
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n##x\n";
    for (int k = 0; k < n; ++k) vocab.append("s").append(std::to_string(k)).append("\n");
    WriteFile(dir / "tokenizers/wordpiece/vocab.txt", vocab);
    auto write_split = [&](const std::string& name, int docs, int offset) {
      std::string text;
      for (int d = 0; d < docs; ++d) {
        for (int s = 0; s < kSentencesPerDoc; ++s) {
          std::string w = "s";
          w.append(std::to_string((offset + d * kSentencesPerDoc + s) % n));
          text.append(w).append(" ").append(w).append("x\n");
        }
        text += "\n";
      }
      WriteFile(dir / name, text);
    };
    write_split("train.txt", kDocs, 0);
    write_split("heldout.txt", 3, 7);
    tok = encoder::LoadTextTokenizer(dir / "tokenizers/wordpiece");
    corpus = encoder::TokenizeCorpusFile(dir / "train.txt", tok, 1);
  }
  // Sentence index of a token "sK" (-1 for ##x and specials).
  int64_t SentenceOf(int32_t id) const { return id >= kSpecials ? id - kSpecials : -1; }
  int64_t DocOf(int64_t sentence) const { return sentence / kSentencesPerDoc; }
};

}  // namespace spade::testing
