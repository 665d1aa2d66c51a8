// SentencePiece tokenizer for ALBERT through libsentencepiece: loads `spiece.model` and
// preprocesses text the way ALBERT's tokenizer does before the model sees it (collapse
// whitespace, `` and '' to ", accents stripped by NFKD unless keep_accents, lowercase when
// do_lower_case), then adds [CLS] ... [SEP]. Also trains a model from a corpus.
//
// Immutable after Load; Tokenize/Encode are thread-safe (SentencePieceProcessor's encode
// is const).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace spade::encoder {

struct SentencePieceOptions {
  bool do_lower_case = true;   // AlbertTokenizer defaults
  bool keep_accents = false;
  bool remove_space = true;
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
};

struct SentencePieceTrainOptions {
  int vocab_size = 30000;
  std::string model_type = "unigram";  // or "bpe"
  // ALBERT's layout: <pad>=0, <unk>=1, [CLS]=2, [SEP]=3, [MASK]=4.
  bool albert_special_tokens = true;
  float character_coverage = 0.9995f;
};

class SentencePieceTokenizer {
 public:
  // Throws Error(kNotFound / kCorruption) naming the file.
  static SentencePieceTokenizer Load(const std::string& spiece_model, const SentencePieceOptions& options = {});
  // DIR/spiece.model with options from DIR/tokenizer_config.json when present
  // (do_lower_case, keep_accents, remove_space, cls_token, sep_token).
  static SentencePieceTokenizer FromModelDir(const std::string& dir);
  // Trains on text files (one sentence per line) and writes <model_prefix>.model and
  // <model_prefix>.vocab. Throws kInvalidArgument with sentencepiece's message on failure.
  static void Train(const std::vector<std::string>& inputs, const std::string& model_prefix,
                    const SentencePieceTrainOptions& options);

  SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept;
  SentencePieceTokenizer& operator=(SentencePieceTokenizer&&) noexcept;
  ~SentencePieceTokenizer();

  std::string Preprocess(const std::string& text) const;
  std::vector<std::string> Tokenize(const std::string& text) const;
  std::vector<int32_t> Encode(const std::string& text, bool add_special_tokens = true) const;
  std::string Decode(const std::vector<int32_t>& ids) const;
  int32_t PieceToId(const std::string& piece) const;  // unk id when absent
  const std::string& IdToPiece(int32_t id) const;     // throws kInvalidArgument out of range
  int32_t vocab_size() const;

 private:
  SentencePieceTokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  SentencePieceOptions options_;
};

}  // namespace spade::encoder
