// Training a WordPiece vocabulary from a corpus, the way Hugging Face's WordPieceTrainer
// does it: words from BasicTokenize (same lowercasing/accent/punctuation rules as the
// tokenizer that will use the vocab), an alphabet of first characters and "##"
// continuation characters, then repeatedly merge the most frequent adjacent pair
// (a, ##b) -> "ab" (or "##a", ##b -> "##ab") until the vocabulary is full.
// Deterministic: ties go to the lexicographically smallest pair.
#pragma once

#include <string>
#include <vector>

#include "encoder/wordpiece.h"

namespace spade::encoder {

struct WordPieceTrainOptions {
  int vocab_size = 30522;
  int min_frequency = 2;  // stop when the best pair is rarer
  std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  WordPieceOptions tokenizer;  // basic-tokenisation settings (lowercasing etc.)
};

// Returns the vocabulary in id order (specials first); write it one token per line as
// vocab.txt, or pass it to WordPieceTokenizer's constructor.
std::vector<std::string> TrainWordPieceVocab(const std::vector<std::string>& texts, const WordPieceTrainOptions& o);

// Writes vocab.txt atomically.
void SaveVocabTxt(const std::vector<std::string>& vocab, const std::string& path);

}  // namespace spade::encoder
