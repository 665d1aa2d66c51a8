#include "encoder/config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace spade::encoder {
namespace {

using nlohmann::json;

template <typename T>
void Read(const json& j, const char* key, T* out, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    *out = it->get<T>();
  } catch (const json::exception& e) {
    throw Error(ErrorCode::kInvalidArgument, source + ": field '" + key + "': " + e.what());
  }
}

}  // namespace

std::string ArchName(Arch a) {
  switch (a) {
    case Arch::kBert: return "bert";
    case Arch::kAlbert: return "albert";
    case Arch::kElectra: return "electra";
  }
  return "bert";
}

void EncoderConfig::Validate() const {
  auto fail = [](const std::string& m) { throw Error(ErrorCode::kInvalidArgument, "config: " + m); };
  if (vocab_size <= 0 || hidden_size <= 0 || embedding_size <= 0 || num_hidden_layers <= 0 ||
      num_attention_heads <= 0 || intermediate_size <= 0 || max_position_embeddings <= 0 || type_vocab_size <= 0) {
    fail("sizes must be positive");
  }
  if (hidden_size % num_attention_heads != 0) {
    fail("hidden_size " + std::to_string(hidden_size) + " is not a multiple of num_attention_heads " +
         std::to_string(num_attention_heads));
  }
  if (arch == Arch::kBert && embedding_size != hidden_size) fail("BERT needs embedding_size == hidden_size");
  if (num_hidden_groups <= 0 || num_hidden_groups > num_hidden_layers) fail("num_hidden_groups out of range");
  if (inner_group_num <= 0) fail("inner_group_num must be positive");
  if ((sharing == Sharing::kAttention || sharing == Sharing::kFfn) && inner_group_num != 1) {
    fail("spade_cross_layer_sharing attention/ffn needs inner_group_num == 1");
  }
  if (hidden_dropout_prob < 0 || hidden_dropout_prob >= 1 || attention_probs_dropout_prob < 0 ||
      attention_probs_dropout_prob >= 1) {
    fail("dropout probabilities must be in [0, 1)");
  }
}

EncoderConfig ParseConfigJson(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(ErrorCode::kCorruption, source + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(ErrorCode::kCorruption, source + ": expected a JSON object");
  EncoderConfig c;
  std::string type = "bert";
  Read(j, "model_type", &type, source);
  if (type == "bert") {
    c.arch = Arch::kBert;
  } else if (type == "albert") {
    // AlbertConfig defaults (albert-xxlarge-ish in HF; we take albert-base-v2's values).
    c.arch = Arch::kAlbert;
    c.vocab_size = 30000;
    c.embedding_size = 128;
    c.hidden_act = Activation::kGeluNew;
    c.hidden_dropout_prob = 0.0f;
    c.attention_probs_dropout_prob = 0.0f;
    c.pad_token_id = 0;
  } else if (type == "electra") {
    c.arch = Arch::kElectra;
    c.embedding_size = 128;
    c.hidden_size = 256;
    c.num_attention_heads = 4;
    c.intermediate_size = 1024;
  } else {
    throw Error(ErrorCode::kInvalidArgument, source + ": model_type '" + type +
                                                 "' is not supported (bert, albert, electra)");
  }
  Read(j, "vocab_size", &c.vocab_size, source);
  Read(j, "hidden_size", &c.hidden_size, source);
  if (c.arch == Arch::kBert) {
    c.embedding_size = c.hidden_size;
  } else {
    Read(j, "embedding_size", &c.embedding_size, source);
  }
  Read(j, "num_hidden_layers", &c.num_hidden_layers, source);
  Read(j, "num_attention_heads", &c.num_attention_heads, source);
  Read(j, "intermediate_size", &c.intermediate_size, source);
  std::string act = ActivationName(c.hidden_act);
  Read(j, "hidden_act", &act, source);
  c.hidden_act = ParseActivation(act);
  Read(j, "hidden_dropout_prob", &c.hidden_dropout_prob, source);
  Read(j, "attention_probs_dropout_prob", &c.attention_probs_dropout_prob, source);
  Read(j, "max_position_embeddings", &c.max_position_embeddings, source);
  Read(j, "type_vocab_size", &c.type_vocab_size, source);
  Read(j, "layer_norm_eps", &c.layer_norm_eps, source);
  Read(j, "initializer_range", &c.initializer_range, source);
  Read(j, "pad_token_id", &c.pad_token_id, source);
  Read(j, "num_hidden_groups", &c.num_hidden_groups, source);
  Read(j, "inner_group_num", &c.inner_group_num, source);
  std::string sharing = "all";
  Read(j, "spade_cross_layer_sharing", &sharing, source);
  if (sharing == "all") {
    c.sharing = Sharing::kAll;
  } else if (sharing == "none") {
    c.sharing = Sharing::kNone;
  } else if (sharing == "attention") {
    c.sharing = Sharing::kAttention;
  } else if (sharing == "ffn") {
    c.sharing = Sharing::kFfn;
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                source + ": spade_cross_layer_sharing '" + sharing + "' (expected all, none, attention, ffn)");
  }
  if (c.arch != Arch::kAlbert) {
    c.num_hidden_groups = 1;
    c.inner_group_num = 1;
    c.sharing = Sharing::kNone;
  }
  if (auto it = j.find("id2label"); it != j.end() && it->is_object() && !it->empty()) {
    c.num_labels = static_cast<int>(it->size());
  }
  Read(j, "num_labels", &c.num_labels, source);
  try {
    c.Validate();
  } catch (const Error& e) {
    throw Error(e.code(), source + ": " + e.what());
  }
  return c;
}

EncoderConfig LoadConfigJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfigJson(ss.str(), path);
}

std::string ConfigToJson(const EncoderConfig& c, const std::string& architecture) {
  json j;
  j["model_type"] = ArchName(c.arch);
  j["architectures"] = json::array({architecture});
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  if (c.arch != Arch::kBert) j["embedding_size"] = c.embedding_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["intermediate_size"] = c.intermediate_size;
  j["hidden_act"] = ActivationName(c.hidden_act);
  j["hidden_dropout_prob"] = c.hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["type_vocab_size"] = c.type_vocab_size;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["initializer_range"] = c.initializer_range;
  j["pad_token_id"] = c.pad_token_id;
  j["num_labels"] = c.num_labels;
  if (c.arch == Arch::kAlbert) {
    const bool none = c.sharing == Sharing::kNone;
    j["num_hidden_groups"] = none ? c.num_hidden_layers : c.num_hidden_groups;
    j["inner_group_num"] = c.inner_group_num;
    if (c.sharing == Sharing::kAttention) j["spade_cross_layer_sharing"] = "attention";
    if (c.sharing == Sharing::kFfn) j["spade_cross_layer_sharing"] = "ffn";
  }
  return j.dump(2) + "\n";
}

}  // namespace spade::encoder
