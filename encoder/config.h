// EncoderConfig: the architecture of a BERT / ALBERT / ELECTRA trunk as a plain struct,
// read from and written to config.json with Hugging Face's field names (BertConfig,
// AlbertConfig, ElectraConfig). Defaults are bert-base-uncased's.
#pragma once

#include <string>

#include "encoder/layers.h"

namespace spade::encoder {

enum class Arch { kBert, kAlbert, kElectra };

// ALBERT cross-layer parameter sharing (the ALBERT paper's ablation, Table 4).
//   kAll: published ALBERT; layer i uses group floor(i * G / L) (`num_hidden_groups` = G).
//   kNone: every layer its own parameters; saved as num_hidden_groups = L, so Hugging Face
//          loads it as a plain AlbertModel.
//   kAttention / kFfn: only the attention / only the FFN block shared (group 0); the other
//          block of layer i is stored in group i. Spade extension (config field
//          "spade_cross_layer_sharing"); Hugging Face cannot load these two.
enum class Sharing { kAll, kNone, kAttention, kFfn };

struct EncoderConfig {
  Arch arch = Arch::kBert;
  int vocab_size = 30522;               // V
  int hidden_size = 768;                // H
  int embedding_size = 768;             // E (== H for BERT)
  int num_hidden_layers = 12;           // L
  int num_attention_heads = 12;         // nH; H % nH == 0
  int intermediate_size = 3072;         // F
  Activation hidden_act = Activation::kGelu;
  float hidden_dropout_prob = 0.1f;
  float attention_probs_dropout_prob = 0.1f;
  int max_position_embeddings = 512;    // P
  int type_vocab_size = 2;
  float layer_norm_eps = 1e-12f;
  float initializer_range = 0.02f;
  int pad_token_id = 0;
  int num_hidden_groups = 1;            // ALBERT G
  int inner_group_num = 1;              // ALBERT layers per group
  Sharing sharing = Sharing::kAll;      // ALBERT only
  int num_labels = 2;                   // K for the pooled classification head

  // Throws kInvalidArgument naming the field when the values are inconsistent.
  void Validate() const;
};

// Parses config.json text; `source` names the file in errors. Fields absent from the JSON
// keep the model type's published defaults (BertConfig / AlbertConfig / ElectraConfig).
EncoderConfig ParseConfigJson(const std::string& text, const std::string& source = "config.json");
EncoderConfig LoadConfigJson(const std::string& path);
// Writes every field under Hugging Face names plus "model_type" and "architectures".
std::string ConfigToJson(const EncoderConfig& c, const std::string& architecture);

std::string ArchName(Arch a);  // "bert", "albert", "electra"

}  // namespace spade::encoder
