// WordPiece tokenizer exactly as BERT's reference tokenizer (BasicTokenizer followed by
// WordpieceTokenizer), as Hugging Face's BertTokenizer runs it:
//   1. special tokens ([CLS], [SEP], [PAD], [MASK], [UNK]) written in the text stay whole;
//   2. clean: drop NUL, U+FFFD and control characters; every whitespace becomes ' ';
//   3. spaces around CJK ideographs (the BERT ranges); NFC normalisation;
//   4. split on whitespace; per word: lowercase (when do_lower_case) and strip accents
//      (NFD, drop Mn marks; when strip_accents, which defaults to do_lower_case); split
//      every punctuation character (ASCII symbol ranges and Unicode P*) off;
//   5. greedy longest-match-first subwords, continuation pieces prefixed "##"; a word
//      longer than max_input_chars_per_word characters, or with an unmatched remainder,
//      becomes [UNK].
// Invalid UTF-8 bytes are treated as U+FFFD (and so dropped in step 2).
// Lowercasing uses Unicode simple case mapping (utf8proc), which differs from Python's
// str.lower() only for the handful of characters with multi-character lowercase forms.
//
// Immutable after construction; Tokenize/Encode are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace spade::encoder {

struct WordPieceOptions {
  bool do_lower_case = true;                // tokenizer_config.json "do_lower_case"
  std::optional<bool> strip_accents;        // unset: follow do_lower_case
  bool tokenize_chinese_chars = true;
  int max_input_chars_per_word = 100;
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";
};

class WordPieceTokenizer {
 public:
  // vocab: token -> id is the line number (0-based). Throws kNotFound / kInvalidArgument
  // (empty vocab, or the unk token missing) naming the file.
  static WordPieceTokenizer FromVocabFile(const std::string& path, const WordPieceOptions& options = {});
  // DIR/vocab.txt plus DIR/tokenizer_config.json when present (do_lower_case,
  // strip_accents, tokenize_chinese_chars, special-token strings). Lowercasing stays on
  // unless the config says otherwise.
  static WordPieceTokenizer FromModelDir(const std::string& dir);
  WordPieceTokenizer(std::vector<std::string> vocab, const WordPieceOptions& options);

  // Steps 1-4: words and punctuation, before subword splitting.
  std::vector<std::string> BasicTokenize(std::string_view text) const;
  // Steps 1-5: the wordpiece strings.
  std::vector<std::string> Tokenize(std::string_view text) const;
  // Tokenize mapped to ids; with add_special_tokens, [CLS] ... [SEP].
  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens = true) const;

  int32_t TokenToId(const std::string& token) const;  // unk id when absent
  const std::string& IdToToken(int32_t id) const;     // throws kInvalidArgument out of range
  int32_t vocab_size() const { return static_cast<int32_t>(vocab_.size()); }
  const WordPieceOptions& options() const { return options_; }

 private:
  void WordPiece(const std::string& word, std::vector<std::string>* out) const;
  void BasicTokenizeSegment(std::string_view text, std::vector<std::string>* out) const;

  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int32_t> ids_;
  WordPieceOptions options_;
  int32_t unk_id_ = 0;
};

}  // namespace spade::encoder
