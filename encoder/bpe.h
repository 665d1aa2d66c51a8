// GPT-2's byte-level BPE: text -> UTF-8 bytes, each byte shown as a printable code point
// (GPT-2's bytes_to_unicode table), split by GPT-2's pre-tokenisation pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (matched by hand with utf8proc categories), then merges applied lowest rank first.
// Files: vocab.json (token -> id) and merges.txt ("#version" line, then "a b" per line,
// rank = line order). Every byte has a token, so encoding never needs an unknown token and
// Decode(Encode(s)) == s for any byte string.
//
// Immutable after construction; Encode is thread-safe (no cache is shared).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace spade::encoder {

struct BpeTrainOptions {
  int vocab_size = 50257;                          // 256 byte tokens + merges + specials
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
  int min_frequency = 2;                           // stop when the best pair is rarer
};

class ByteLevelBpe {
 public:
  // Throws Error(kNotFound / kCorruption) naming the file and line.
  static ByteLevelBpe FromFiles(const std::string& vocab_json, const std::string& merges_txt);
  static ByteLevelBpe FromModelDir(const std::string& dir);  // DIR/vocab.json + DIR/merges.txt
  // Learns merges from texts (each pre-tokenised as above) until vocab_size.
  static ByteLevelBpe Train(const std::vector<std::string>& texts, const BpeTrainOptions& options);
  ByteLevelBpe(std::unordered_map<std::string, int32_t> vocab, std::vector<std::pair<std::string, std::string>> merges);

  // The pre-tokenisation pieces (raw UTF-8, before the byte mapping).
  static std::vector<std::string> PreTokenize(std::string_view text);
  std::vector<std::string> Tokenize(std::string_view text) const;  // byte-mapped BPE tokens
  // Throws kInvalidArgument if a token is missing from vocab.json (an inconsistent pair of files).
  std::vector<int32_t> Encode(std::string_view text) const;
  std::string Decode(const std::vector<int32_t>& ids) const;  // throws on an unknown id
  void Save(const std::string& dir) const;                    // vocab.json + merges.txt, atomic
  int32_t vocab_size() const { return static_cast<int32_t>(vocab_.size()); }
  int32_t TokenToId(const std::string& token) const;  // -1 when absent

 private:
  void Bpe(const std::string& word, std::vector<std::string>* out) const;
  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<std::pair<std::string, std::string>> merges_;
  std::map<std::pair<std::string, std::string>, int> ranks_;
};

}  // namespace spade::encoder
