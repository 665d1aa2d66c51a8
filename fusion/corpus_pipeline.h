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
// Training text: the merge-based trainers (WordPiece, BPE) recount every symbol pair for each
// merge, so their time grows with (distinct words x merges); they train on a deterministic
// sample of the train split (sentences whose hash with the seed falls under a threshold),
// about `merge_sample_sentences` of them. SentencePiece gets its own, larger sample. The
// manifest says how many sentences each tokenizer saw.
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
  int vocab_size = 8192;                         // for each tokenizer
  uint64_t merge_sample_sentences = 60000;       // WordPiece and BPE training sample
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

}  // namespace spade::fusion
