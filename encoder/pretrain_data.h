// Pretraining data: a corpus directory's text (`spade corpus build`: one sentence per line,
// a blank line ends a document) tokenized once, and the batches of every objective drawn
// from it as a pure function of (seed, step, rank) — so a resumed or data-parallel run sees
// exactly the batches an uninterrupted single-process run would.
//
//   MLM (BERT): [CLS] consecutive sentences of one document [SEP], exactly
//               max(1, round(rate * candidates)) positions predicted; of those 80% [MASK],
//               10% a random non-special token, 10% unchanged. Whole-word masking picks
//               whole words (a word = a word-start token and its continuations) as units.
//   sentence pairs: [CLS] A [SEP] B [SEP], token types 0/1. A and B are consecutive
//               segments of one document. SOP (ALBERT): swapped with probability 1/2,
//               label 1 = swapped. NSP (BERT): B replaced by a segment of another document
//               with probability 1/2, label 1 = random.
//   causal LM (GPT-2): windows of T tokens from the concatenated stream (documents joined
//               by the end-of-text token), labels = the inputs (the model shifts them).
//
// Shapes: B sequences per batch, T tokens per sequence.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "encoder/transformer.h"

namespace spade::encoder {

// The tokenizer of a model directory, reduced to what pretraining needs. Loaded from
// vocab.txt (WordPiece), spiece.model (SentencePiece) or vocab.json + merges.txt (GPT-2 BPE).
struct TextTokenizer {
  std::string kind;       // "wordpiece", "sentencepiece", "bpe"
  std::string dir;        // where its files are (copied into saved models)
  int32_t vocab_size = 0;
  int32_t pad_id = 0, cls_id = -1, sep_id = -1, mask_id = -1, eos_id = -1;  // -1 = none
  std::vector<uint8_t> word_start;  // (V) 1 when a token begins a word
  std::vector<uint8_t> special;     // (V) 1 for specials (never masked or sampled)
  std::function<std::vector<int32_t>(const std::string&)> encode;  // no special tokens added
  std::function<std::string(const std::vector<int32_t>&)> decode;
  std::vector<std::string> files;   // tokenizer file names inside dir
};
// Throws kNotFound naming the directory when it holds no known tokenizer files.
TextTokenizer LoadTextTokenizer(const std::string& dir);
// Copies the tokenizer's files into `dir` (which must exist).
void CopyTokenizerFiles(const TextTokenizer& tok, const std::string& dir);

struct TokenizedCorpus {
  std::vector<int32_t> ids;               // every token, sentences back to back
  std::vector<int64_t> sentence_begin;    // sentence s = ids[sentence_begin[s], sentence_begin[s+1])
  std::vector<int64_t> doc_begin;         // document d = sentences [doc_begin[d], doc_begin[d+1])
  std::vector<int64_t> multi_sentence_docs;  // documents with >= 2 sentences (pair sampling)
  int64_t words = 0;                      // whitespace-separated words read
  int64_t sentences() const { return static_cast<int64_t>(sentence_begin.size()) - 1; }
  int64_t documents() const { return static_cast<int64_t>(doc_begin.size()) - 1; }
};
// Reads and tokenizes a corpus text file on `threads` threads (same result for any count).
// GPT-2 BPE: sentences after the first of a document get a leading space. Throws kNotFound
// naming the file, kInvalidArgument when it holds no sentence.
TokenizedCorpus TokenizeCorpusFile(const std::string& path, const TextTokenizer& tok, int threads);

enum class SentenceTask { kNone, kSop, kNsp };

struct MaskingOptions {
  float rate = 0.15f;          // fraction of candidate tokens predicted
  bool whole_word = false;     // mask whole words as units
  float mask_fraction = 0.8f;  // of predicted positions -> [MASK]
  float random_fraction = 0.1f;  // -> a random non-special token; the rest stay unchanged
};

struct BatchOptions {
  int batch = 32;                // B
  int seq = 128;                 // T
  int rank = 0;                  // data-parallel rank (its own slice of each step's draws)
  uint64_t seed = 0;
  SentenceTask sentence = SentenceTask::kNone;
  MaskingOptions masking;
};

struct PretrainBatch {
  Batch batch;                           // input ids after masking
  std::vector<int32_t> original_ids;     // (B*T) before masking
  std::vector<int32_t> mlm_labels;       // (B*T) original id at predicted positions, else -100
  std::vector<int32_t> sentence_labels;  // (B) SOP: 1 swapped; NSP: 1 random; empty for kNone
  int64_t tokens = 0;                    // non-padding tokens
};

// Masks `ids` in place where `candidate` is 1; returns labels (original id or -100).
// Deterministic for the rng state. `rng_seed` picks the positions and replacements.
std::vector<int32_t> MaskTokens(std::vector<int32_t>* ids, const std::vector<uint8_t>& candidate,
                                const TextTokenizer& tok, const MaskingOptions& o, uint64_t rng_seed);

// The batch for (o.seed, step, o.rank): MLM and optional sentence pairs.
PretrainBatch MakeMlmBatch(const TokenizedCorpus& corpus, const TextTokenizer& tok, const BatchOptions& o,
                           int64_t step);
// Causal-LM windows for (o.seed, step, o.rank); labels = batch.input_ids, no padding.
PretrainBatch MakeClmBatch(const TokenizedCorpus& corpus, const TextTokenizer& tok, const BatchOptions& o,
                           int64_t step);

// The seed of draw `index` of `step` on `rank` (a counter-based hash, no shared state).
uint64_t DrawSeed(uint64_t seed, int64_t step, int rank, int64_t index);

}  // namespace spade::encoder
