#include "tools/knowledge.h"

#include "fusion/qa_model_io.h"

namespace spade::tools {

std::string DefaultScorerWeights() { return std::string(SPADE_DATA_DIR) + "/models/kg_scorer.json"; }

std::unique_ptr<LoadedKg> LoadKg(const std::string& dir, const KgLoadOptions& o) {
  auto k = std::make_unique<LoadedKg>();
  // The weights first: a bad file fails before the (slower) KG load.
  k->qa.weights = o.weights.empty() ? retrieval::KgScorerWeights::Zero() : retrieval::KgScorerWeights::Load(o.weights);
  k->store = kg::KgStore::Open(dir);
  k->graph = k->store->LoadGraph();
  if (o.embeddings) k->transe = kg::TransE::Load(*k->store);
  k->lemmatizer = retrieval::Lemmatizer::Load();
  k->qa.graph = &k->graph;
  k->qa.lemmatizer = &k->lemmatizer;
  k->qa.transe = k->embeddings();
  if (o.identity) k->qa.identity = fusion::ComputeKgIdentity(k->graph, k->qa.transe);
  return k;
}

}  // namespace spade::tools
