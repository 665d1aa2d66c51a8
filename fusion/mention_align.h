// Mention-to-token alignment for ERNIE-style fusion: the text is tokenised with the
// encoder's own tokenizer, and each grounded mention (retrieval/grounding.h, byte spans)
// is attached to the first subword token of its first word, as ERNIE aligns an entity to
// the first token of its mention.
//
// How the alignment stays exact without tokenizer offsets: the text is encoded one
// whitespace-delimited word at a time and the pieces concatenated. WordPiece splits on
// whitespace before anything else, and SentencePiece models trained with its default
// split_by_whitespace never make a piece that spans a space, so the concatenation equals
// encoding the whole text (tests check this on real CommonsenseQA questions for both).
// A mention that begins inside a word ("cream" in "ice-cream", "t" in "don't") is placed at
// the token index of encode(word prefix) when that encoding is a prefix of the word's
// tokens (always for WordPiece, whose punctuation splits make the boundary a token
// boundary); otherwise at the word's first token.
//
// One entity per token (ERNIE's layout): where several mentions start on the same token,
// the longest wins ("ice cream" → ice_cream on "ice"; the nested "ice" is dropped, "cream"
// keeps its own token). Mentions whose token lies beyond `max_tokens` are dropped and
// counted.
//
// Thread-safety: pure functions; `encode` must be safe to call from the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "retrieval/grounding.h"

namespace spade::fusion {

// Encodes text without special tokens (TextTokenizer::encode of encoder/pretrain_data.h).
using EncodeFn = std::function<std::vector<int32_t>(const std::string&)>;

struct AlignedMention {
  int token = 0;              // index into AlignedText::ids
  size_t mention = 0;         // index into the mentions passed in
};

struct AlignedText {
  std::vector<int32_t> ids;            // the text's tokens, no special tokens
  std::vector<size_t> word_of_token;   // (ids.size()) index of the whitespace word each token came from
  std::vector<AlignedMention> aligned; // at most one per token, in token order
  int dropped_overlapping = 0;         // mentions that lost their token to a longer one
  int dropped_truncated = 0;           // mentions past max_tokens
};

// Tokenises `text` and aligns `mentions` (byte spans into `text`, any order). Only the first
// `max_tokens` tokens are kept (< 0: all). Throws spade::encoder::Error(kInvalidArgument) naming the
// mention when a span lies outside the text or is empty.
AlignedText AlignMentions(std::string_view text, const std::vector<retrieval::Mention>& mentions,
                          const EncodeFn& encode, int max_tokens = -1);

}  // namespace spade::fusion
