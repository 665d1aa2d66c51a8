// TransE (Bordes et al. 2013) concept and relation embeddings for a Graph: a true triple
// (h, r, t) should have h + r close to t. Trained with the margin ranking loss
//   L = sum over (true, corrupted) pairs of max(0, margin + d(h, r, t) - d(h', r, t')),
// d = L1 or L2 distance, one corrupted triple per true one (head or tail replaced by a
// uniformly drawn concept, 50/50), SGD, concept vectors renormalised to unit L2 length when
// touched (as in the paper). Threads share the parameters without locks (Hogwild).
//
// Stored in a KgStore as the blob "transe" (layout in kTranseLayout below / kg/FORMAT.md).
// Shape letters: N concepts, R relations, D embedding dimension.
// Thread-safety: a trained TransE is immutable; concurrent reads are safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kg/graph.h"

namespace spade::kg {

class KgStore;

// Blob layout, all integers and floats little-endian:
//   bytes 0-3   magic "STRE"
//   u32 version (1), u32 D, u32 N, u32 R, u32 norm (1 or 2), f32 margin
//   f32 concepts[N][D], then f32 relations[R][D]
inline constexpr std::string_view kTranseBlobName = "transe";
inline constexpr uint32_t kTranseBlobVersion = 1;

struct TransEOptions {
  int dim = 100;              // D
  int epochs = 100;           // passes over the training triples
  int threads = 2;            // Hogwild workers
  uint64_t seed = 1;          // same seed + threads=1 gives the same vectors
  float learning_rate = 0.01f;
  float margin = 1.0f;
  int norm = 1;               // 1 = L1 distance, 2 = L2
};

struct TransEProgress {
  int epoch = 0;         // 1-based, completed epochs
  int epochs = 0;
  double loss = 0;       // mean hinge loss per training triple in this epoch
  double seconds = 0;    // since training began
};

class TransE {
 public:
  TransE() = default;
  // Random init (uniform in +-6/sqrt(D), concepts normalised), as in the paper.
  TransE(size_t num_concepts, size_t num_relations, int dim, int norm, float margin,
         uint64_t seed);

  // Trains on `triples` (ids < num_concepts / num_relations; checked, kInvalidArgument).
  // `progress`, if set, is called on the calling thread after each epoch. A non-finite
  // loss throws spade::Error kInvalidArgument naming the epoch (lower the learning rate).
  static TransE Train(size_t num_concepts, size_t num_relations, std::span<const Triple> triples,
                      const TransEOptions& options,
                      const std::function<void(const TransEProgress&)>& progress = {});
  static TransE Train(const Graph& graph, const TransEOptions& options,
                      const std::function<void(const TransEProgress&)>& progress = {});

  int dim() const { return dim_; }
  int norm() const { return norm_; }
  float margin() const { return margin_; }
  size_t num_concepts() const { return num_concepts_; }
  size_t num_relations() const { return num_relations_; }
  bool empty() const { return num_concepts_ == 0; }
  std::span<const float> concept_vector(ConceptId c) const {
    return {concepts_.data() + size_t(c) * dim_, size_t(dim_)};
  }
  std::span<const float> relation_vector(RelationId r) const {
    return {relations_.data() + size_t(r) * dim_, size_t(dim_)};
  }
  std::span<float> mutable_concepts() { return concepts_; }
  std::span<float> mutable_relations() { return relations_; }

  // d(h, r, t) = || h + r - t || in the model's norm; smaller = more plausible.
  float Distance(ConceptId h, RelationId r, ConceptId t) const;
  // KagNet's edge score (1 + cos(r, t - h)) / 2 in [0, 1]; 0.5 when t == h.
  float EdgeScore(ConceptId h, RelationId r, ConceptId t) const;

  // The hinge loss of one (true, corrupted) pair and, if `grad_concepts` / `grad_relations`
  // are non-null ((N, D) / (R, D), accumulated into), its gradient. Used by training and
  // by the finite-difference gradient check.
  double PairLoss(const Triple& positive, const Triple& negative,
                  std::vector<float>* grad_concepts = nullptr,
                  std::vector<float>* grad_relations = nullptr) const;

  std::string Serialize() const;
  // Throws spade::Error kCorruption (bad magic/size) or kFormatVersion, naming `where`.
  static TransE Deserialize(std::string_view bytes, const std::string& where);

  // Stores into / reads from the KG at `dir` / `store`. Load returns nullopt when the KG has
  // no embeddings and throws kCorruption when their counts do not match the KG's.
  void Save(const std::string& dir) const;
  static std::optional<TransE> Load(const KgStore& store);

 private:
  size_t num_concepts_ = 0, num_relations_ = 0;
  int dim_ = 0, norm_ = 1;
  float margin_ = 1.0f;
  std::vector<float> concepts_;   // (N, D)
  std::vector<float> relations_;  // (R, D)
};

// Triple classification on ConceptNet-100k dev files (`Rel \t head \t tail \t label`), the
// protocol of Li et al. 2016: for each relation a distance threshold is chosen to maximise
// accuracy on dev1 (one global threshold for relations unseen there), then applied to dev2.
// Triples whose concept or relation is not in the graph are classified false.
struct TripleClassification {
  double dev1_accuracy = 0;  // with the thresholds fitted on it
  double dev2_accuracy = 0;
  size_t dev1_n = 0, dev2_n = 0;
  size_t unknown = 0;        // dev1+dev2 rows with a concept/relation the graph lacks
};
TripleClassification EvaluateTripleClassification(const Graph& graph, const TransE& model,
                                                  const std::string& dev1_path,
                                                  const std::string& dev2_path);

// Link prediction on `held_out` triples (not trained on): rank the true tail and the true
// head among all concepts by distance ("raw" setting, ties count half). MRR and Hits@10
// averaged over both directions.
struct LinkPrediction {
  double mrr = 0;
  double hits_at_10 = 0;
  size_t n = 0;  // triples evaluated
};
LinkPrediction EvaluateLinkPrediction(const TransE& model, std::span<const Triple> held_out);

}  // namespace spade::kg
