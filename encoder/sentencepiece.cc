#include "encoder/sentencepiece.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <utf8proc.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "encoder/error.h"

// GCC 12 false positive in std::string assignment from literals (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace spade::encoder {

struct SentencePieceTokenizer::Impl {
  sentencepiece::SentencePieceProcessor sp;
};

SentencePieceTokenizer::SentencePieceTokenizer() : impl_(std::make_unique<Impl>()) {}
SentencePieceTokenizer::SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept = default;
SentencePieceTokenizer& SentencePieceTokenizer::operator=(SentencePieceTokenizer&&) noexcept = default;
SentencePieceTokenizer::~SentencePieceTokenizer() = default;

SentencePieceTokenizer SentencePieceTokenizer::Load(const std::string& path, const SentencePieceOptions& options) {
  if (!std::filesystem::exists(path)) throw Error(ErrorCode::kNotFound, path + ": cannot open");
  SentencePieceTokenizer t;
  t.options_ = options;
  const auto status = t.impl_->sp.Load(path);
  if (!status.ok()) throw Error(ErrorCode::kCorruption, path + ": " + status.ToString());
  return t;
}

SentencePieceTokenizer SentencePieceTokenizer::FromModelDir(const std::string& dir) {
  SentencePieceOptions o;
  const std::string cfg = dir + "/tokenizer_config.json";
  if (std::filesystem::exists(cfg)) {
    std::ifstream in(cfg);
    try {
      const auto j = nlohmann::json::parse(in);
      auto get_bool = [&](const char* k, bool* v) {
        if (j.contains(k) && j[k].is_boolean()) *v = j[k].get<bool>();
      };
      get_bool("do_lower_case", &o.do_lower_case);
      get_bool("keep_accents", &o.keep_accents);
      get_bool("remove_space", &o.remove_space);
      if (j.contains("cls_token") && j["cls_token"].is_string()) o.cls_token = j["cls_token"].get<std::string>();
      if (j.contains("sep_token") && j["sep_token"].is_string()) o.sep_token = j["sep_token"].get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::kCorruption, cfg + ": " + e.what());
    }
  }
  return Load(dir + "/spiece.model", o);
}

void SentencePieceTokenizer::Train(const std::vector<std::string>& inputs, const std::string& model_prefix,
                                   const SentencePieceTrainOptions& o) {
  if (inputs.empty()) throw Error(ErrorCode::kInvalidArgument, "sentencepiece train: no input files");
  std::string joined;
  for (const auto& in : inputs) {
    if (!joined.empty()) joined.push_back(',');
    joined.append(in);
  }
  std::unordered_map<std::string, std::string> args = {
      {"input", joined},
      {"model_prefix", model_prefix},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"model_type", o.model_type},
      {"character_coverage", std::to_string(o.character_coverage)},
      {"minloglevel", "2"},
  };
  if (o.albert_special_tokens) {
    args["pad_id"] = "0";
    args["unk_id"] = "1";
    args["bos_id"] = "-1";
    args["eos_id"] = "-1";
    args["control_symbols"] = "[CLS],[SEP],[MASK]";
  }
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) throw Error(ErrorCode::kInvalidArgument, "sentencepiece train: " + status.ToString());
}

std::string SentencePieceTokenizer::Preprocess(const std::string& text) const {
  std::string s = text;
  if (options_.remove_space) {
    std::istringstream in(s);
    std::string w, out;
    while (in >> w) {
      if (!out.empty()) out.push_back(' ');
      out.append(w);
    }
    s = out;
  }
  {  // `` and '' become " (built anew: GCC 12's -Wrestrict misfires on string::replace)
    std::string q;
    q.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      if (i + 1 < s.size() && ((s[i] == '`' && s[i + 1] == '`') || (s[i] == '\'' && s[i + 1] == '\''))) {
        q.push_back('"');
        ++i;
      } else {
        q.push_back(s[i]);
      }
    }
    s = std::move(q);
  }
  if (!options_.keep_accents || options_.do_lower_case) {
    int opts = UTF8PROC_STABLE;
    if (!options_.keep_accents) opts |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_STRIPMARK;
    if (options_.do_lower_case) opts |= UTF8PROC_CASEFOLD;
    utf8proc_uint8_t* out = nullptr;
    const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                static_cast<utf8proc_ssize_t>(s.size()), &out, static_cast<utf8proc_option_t>(opts));
    if (n >= 0) {
      s.assign(reinterpret_cast<char*>(out), static_cast<size_t>(n));
      std::free(out);
    }
  }
  return s;
}

std::vector<std::string> SentencePieceTokenizer::Tokenize(const std::string& text) const {
  std::vector<std::string> pieces;
  const auto status = impl_->sp.Encode(Preprocess(text), &pieces);
  if (!status.ok()) throw Error(ErrorCode::kInvalidArgument, "sentencepiece encode: " + status.ToString());
  return pieces;
}

std::vector<int32_t> SentencePieceTokenizer::Encode(const std::string& text, bool add_special_tokens) const {
  std::vector<int> ids;
  const auto status = impl_->sp.Encode(Preprocess(text), &ids);
  if (!status.ok()) throw Error(ErrorCode::kInvalidArgument, "sentencepiece encode: " + status.ToString());
  std::vector<int32_t> out;
  if (add_special_tokens) out.push_back(PieceToId(options_.cls_token));
  out.insert(out.end(), ids.begin(), ids.end());
  if (add_special_tokens) out.push_back(PieceToId(options_.sep_token));
  return out;
}

std::string SentencePieceTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string text;
  const auto status = impl_->sp.Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  if (!status.ok()) throw Error(ErrorCode::kInvalidArgument, "sentencepiece decode: " + status.ToString());
  return text;
}

int32_t SentencePieceTokenizer::PieceToId(const std::string& piece) const { return impl_->sp.PieceToId(piece); }

const std::string& SentencePieceTokenizer::IdToPiece(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "sentencepiece: id " + std::to_string(id) + " outside [0, " + std::to_string(vocab_size()) + ")");
  }
  return impl_->sp.IdToPiece(id);
}

int32_t SentencePieceTokenizer::vocab_size() const { return impl_->sp.GetPieceSize(); }

}  // namespace spade::encoder
