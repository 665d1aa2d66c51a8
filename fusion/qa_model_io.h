// The QA model directory and its KG contract.
//
//   DIR/config.json         the encoder's (Hugging Face layout, as spade pretrain writes)
//   DIR/model.safetensors   encoder tensors under their published names, fusion tensors
//                           under their own prefixes ("fusion.*", "paths.*")
//   DIR/vocab.txt | spiece.model (+ tokenizer_config.json)   the encoder's tokenizer
//   DIR/spade.json          {"format": "spade-qa-model", "version": 1, the QaModelConfig,
//                           the example options, the KG identity, how it was trained}
//
// The KG contract. Concept ids and TransE vectors are the KG's, so a model only makes sense
// with the KG it was trained with. KgIdentity records (1) a SHA-256 over the KG's concept
// and relation names in id order — a different KG (other sources, other schema) is an error
// naming both; (2) the TransE vectors of 64 concepts spread over the id range, by name —
// `spade kg embed` with one thread and the same seed and epochs reproduces them, and a
// model whose probe vectors are off by more than 1e-3 (re-embedded with other options,
// or Hogwild threads) is refused with the command that remakes them. Measuring the vectors
// rather than hashing their bytes keeps a KG rebuilt on another CPU (other float rounding
// in the last bits) usable.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "encoder/pretrain_data.h"
#include "fusion/qa_example.h"
#include "fusion/qa_model.h"
#include "kg/graph.h"
#include "kg/transe.h"

namespace spade::fusion {

struct KgIdentity {
  std::string names_sha256;    // concept names then relation names, '\n'-separated, id order
  size_t concepts = 0, relations = 0;
  int transe_dim = 0;          // 0 = the KG has no embeddings
  std::vector<std::string> probe_names;
  std::vector<float> probe_vectors;  // (probes, transe_dim)
  std::string description;     // "<concepts> concepts, <relations> relations, TransE <dim>-d"
};

// `transe` may be null (a model without fusion or paths still records the KG's names).
KgIdentity ComputeKgIdentity(const kg::Graph& graph, const kg::TransE* transe);

// Throws encoder::Error(kInvalidArgument) naming both identities when `model` (recorded in a
// model directory `where`) cannot be used with `kg`, or the vectors differ (max |Δ| given).
void CheckKgCompatible(const KgIdentity& model, const KgIdentity& kg, const std::string& where);

struct QaModelInfo {
  QaModelConfig model;
  QaExampleOptions examples;
  KgIdentity kg;
  std::string note;  // how it was trained (command, data, dev accuracy)
};

// Writes DIR (created if absent); each file is written atomically.
void SaveQaModel(const QaModel& model, const encoder::TextTokenizer& tok, const QaModelInfo& info,
                 const std::string& dir);

struct LoadedQaModel {
  std::unique_ptr<QaModel> model;
  encoder::TextTokenizer tok;
  QaModelInfo info;
};
// Reads DIR; checks the KG contract against `kg` (ComputeKgIdentity of the KG in use).
// Throws encoder::Error naming the file and field (kNotFound, kCorruption, kInvalidArgument).
LoadedQaModel LoadQaModel(const std::string& dir, const kg::TransE* transe, const KgIdentity& kg);

}  // namespace spade::fusion
