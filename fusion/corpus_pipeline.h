// `spade corpus build` as one library call: the corpus builder of data/corpus/build.h with the
// two pieces data/ cannot own, because they need kg/ and encoder/ — KG sources verbalised by
// kg/verbalize.h, and the tokenizers trained on the train split:
//
//   DIR/tokenizers/wordpiece/{vocab.txt,tokenizer_config.json}       BERT, lower-cased
//   DIR/tokenizers/sentencepiece/{spiece.model,spiece.vocab,tokenizer_config.json}
//                                                                     ALBERT: unigram, <pad>=0
//                                                                     <unk>=1 [CLS]=2 [SEP]=3
//                                                                     [MASK]=4, trained on text
//                                                                     preprocessed as
//                                                                     AlbertTokenizer does
//   DIR/tokenizers/bpe/{vocab.json,merges.txt}                        GPT-2 byte-level BPE
//
// Each is loaded back (WordPieceTokenizer / SentencePieceTokenizer / ByteLevelBpe::FromModelDir)
// and made to encode a sentence before the corpus is swapped into place, so a corpus never
// lands with a tokenizer that does not load.
//
// Training text. The merge-based trainers (WordPiece, BPE) recount every symbol pair of every
// distinct word for each merge, so their time grows with (distinct words x merges), not with
// the amount of text. They are given the word counts of the whole train split (after each
// trainer's own pre-tokenisation), restricted to the `merge_max_types` most frequent words —
// which cover nearly all running words — as texts that pre-tokenise back to exactly those
// counts (scaled down so that at most `merge_max_occurrences` words are written out). With no
// restriction and no scaling this trains the same vocabulary as the raw text (tested).
// SentencePiece, fast on its own, trains on a deterministic sample of the train split's
// sentences (by sentence hash and seed). The manifest says what each tokenizer saw.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/corpus/build.h"

namespace spade::fusion {

struct CorpusPipelineOptions {
  data::corpus::CorpusOptions corpus;
  // Any of "wordpiece", "sentencepiece", "bpe"; empty trains none.
  std::vector<std::string> tokenizers = {"wordpiece", "sentencepiece", "bpe"};
  int vocab_size = 8192;                     // for each tokenizer
  uint64_t merge_max_types = 20000;          // distinct words WordPiece and BPE train on
  uint64_t merge_max_occurrences = 3000000;  // words written out for them, after scaling
  uint64_t sentencepiece_sample_sentences = 1000000;
};

// Builds the corpus (atomically, see data/corpus/build.h) with KG sources and tokenizers.
// `callbacks.read_kg` and `callbacks.train_tokenizers` are filled in here; the progress and
// bad-line callbacks are passed through. Throws spade::Error; a tokenizer that fails to train
// or load back fails the whole build, naming the tokenizer.
data::corpus::CorpusManifest BuildCorpus(const CorpusPipelineOptions& options,
                                         data::corpus::CorpusCallbacks callbacks = {});

// The ALBERT preprocessing applied to SentencePiece's training text (the text the trained
// model will later see through SentencePieceTokenizer::Preprocess): whitespace collapsed,
// `` and '' to ", NFKD with accents dropped, case-folded.
std::string AlbertPreprocess(const std::string& text);

// The merge trainers' input, exposed for tests. Counts of the words one trainer sees (its own
// pre-tokenisation of each sentence), the most frequent kept.
struct WordCounts {
  std::vector<std::pair<std::string, int64_t>> kept;  // by count, then text
  uint64_t types = 0;                                 // distinct words in all
  uint64_t tokens = 0;                                // running words in all
  uint64_t kept_tokens = 0;                           // running words of the kept types
};
enum class MergeTrainer { kWordPiece, kBpe };
// Counts over the non-blank lines of `path` (a train split), keeping at most `max_types`.
WordCounts CountTrainingWords(const std::string& path, MergeTrainer trainer, uint64_t max_types);
// Texts that the trainer pre-tokenises back into the kept words, each count divided by
// *scale (chosen so that about `max_occurrences` words are written; at least 1 each).
std::vector<std::string> TrainingTexts(const WordCounts& counts, MergeTrainer trainer, uint64_t max_occurrences,
                                       uint64_t* scale);

}  // namespace spade::fusion
