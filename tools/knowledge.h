// The KG side that the retrieval, answering and training commands read, loaded once per
// command: the store, its graph and TransE vectors, WordNet's lemmatizer, and the same
// pieces bundled as the fusion library takes them (fusion::QaKnowledge).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "fusion/qa_train.h"
#include "kg/store.h"
#include "kg/transe.h"
#include "retrieval/lemmatizer.h"

namespace spade::tools {

// data/models/kg_scorer.json, the KG-only scorer's shipped weights.
std::string DefaultScorerWeights();

struct LoadedKg {
  std::unique_ptr<kg::KgStore> store;
  kg::Graph graph;
  std::optional<kg::TransE> transe;
  retrieval::Lemmatizer lemmatizer;
  fusion::QaKnowledge qa;  // points into the members above; weights and identity as asked
  const kg::TransE* embeddings() const { return transe ? &*transe : nullptr; }
};

struct KgLoadOptions {
  bool embeddings = true;  // read the TransE vectors (when the KG has them)
  std::string weights;     // scorer weights file, read before the KG; empty = zero weights
  bool identity = false;   // compute qa.identity (a QA model's KG contract)
};

// Throws spade::Error naming the directory or the weights file.
std::unique_ptr<LoadedKg> LoadKg(const std::string& dir, const KgLoadOptions& options = {});

}  // namespace spade::tools
