// The hand-made dig graph (tests/retrieval/test_graphs.h) as the QA code reads a KG: the
// graph, WordNet's lemmatizer, a small one-thread TransE and zero scorer weights, bundled in
// a QaKnowledge with its identity. Shared by the fusion tests that build QA examples.
#pragma once

#include "fusion/qa_model_io.h"
#include "fusion/qa_train.h"
#include "tests/retrieval/test_graphs.h"

namespace spade::fusion::testing {

inline const retrieval::Lemmatizer& Wordnet() {
  static const retrieval::Lemmatizer lem = retrieval::Lemmatizer::Load();
  return lem;
}

struct DigKnowledge {
  explicit DigKnowledge(int transe_epochs = 20) {
    kg::TransEOptions o;
    o.dim = 8;
    o.epochs = transe_epochs;
    o.threads = 1;
    transe = kg::TransE::Train(graph, o);
    k.graph = &graph;
    k.lemmatizer = &Wordnet();
    k.transe = &transe;
    k.weights = retrieval::KgScorerWeights::Zero();
    k.identity = ComputeKgIdentity(graph, &transe);
  }
  DigKnowledge(const DigKnowledge&) = delete;
  DigKnowledge& operator=(const DigKnowledge&) = delete;
  kg::Graph graph = retrieval::testing::DigGraph();
  kg::TransE transe;
  QaKnowledge k;
};

}  // namespace spade::fusion::testing
