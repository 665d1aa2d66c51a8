// KagNet's path encoder (Lin et al. 2019, "KagNet: Knowledge-Aware Graph Networks for
// Commonsense Reasoning"): every question-concept ⇝ answer-concept path of a statement goes
// through an LSTM, and hierarchical attention queried by the statement vector pools the
// paths of each concept pair, then the pairs, into one vector per statement.
//
// Shape letters: S statements (one per choice), Hs statement width (the encoder's [CLS]
// vector), De concept and Dr relation embedding width, Hl LSTM hidden width, D directions,
// P = D*Hl path width, Nc / Nr rows of the concept / relation tables.
//
// A path c_0 -r_0-> c_1 ... -r_{n-1}-> c_n (retrieval::Path) is the LSTM sequence of n+1 steps
//   x_j = [ e(c_j) ; e(r_j) ]  for j < n,    x_n = [ e(c_n) ; 0 ]
// (KagNet concatenates the concept and relation embeddings of each step; the last concept has
// no outgoing relation, so its relation half is zero). The direction of an edge is the
// caller's: pass a separate relation row for a reversed edge (an inverse-relation id).
//
// path vector p_k = the LSTM's final state (lstm.h): [h_fwd at c_n ; h_bwd at c_0], each
// direction having read the whole path, as torch's h_n over packed sequences. (KagNet's code
// runs the LSTM over the padded batch and reads the output at the last padded step, which for
// a shorter path includes padding steps and, backwards, has seen only that step; every path
// here ends at its own last concept instead.)
//
// Attention, for statement s with vector v_s (Hs):
//   q_s = W_path v_s + b_path,  r_s = W_pair v_s + b_pair                         (P each)
//   pair m of s, paths k:  α_k = softmax_k(q_s · p_k),    u_m = Σ_k α_k p_k      (P)
//   over s's pairs m:      β_m = softmax_m(r_s · u_m),    out_s = Σ_m β_m u_m    (P)
// KagNet derives the path query from an MLP of (question concept, answer concept, statement)
// and scores pairs by that MLP's output, concatenating it to u_m; here both queries are
// linear in the statement vector alone and the output is the pooled path vector only, so
// the QA head decides how to combine it with the statement.
//
// Empty cases: a pair without paths takes no part in pair attention (β_m = 0); a statement
// without any path gets out_s = 0, its α/β are empty/zero and no gradient reaches v_s from it.
//
// Tensors (all under `prefix`, "paths" by default):
//   <prefix>.lstm.weight_ih_l0 (4Hl, De+Dr) ... (lstm.h, torch.nn.LSTM names)
//   <prefix>.path_query.weight (P, Hs), <prefix>.path_query.bias (P)
//   <prefix>.pair_query.weight (P, Hs), <prefix>.pair_query.bias (P)
//
// Contract as encoder/layers.h: Backward ACCUMULATES parameter gradients into the arena and
// OVERWRITES the input gradients (tables and statements), each of which may be null. The
// embedding tables are inputs, not parameters, so the caller decides to fine-tune or freeze
// them. Forward is const and may run concurrently with distinct states.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "encoder/layers.h"
#include "encoder/params.h"
#include "encoder/tensor.h"
#include "fusion/lstm.h"

namespace spade::fusion {

struct PathEncoderConfig {
  int concept_dim = 100;    // De (TransE: 100)
  int relation_dim = 100;   // Dr
  int statement_dim = 768;  // Hs
  int hidden = 128;         // Hl
  bool bidirectional = true;
};

// One path as row ids into the concept and relation tables: hops+1 concepts, hops relations.
struct PathIds {
  std::vector<int32_t> concepts;
  std::vector<int32_t> relations;
};
// The paths of one (question concept, answer concept) pair.
struct PairPathIds {
  std::vector<PathIds> paths;
};
// The pairs of one statement (question + one choice).
struct StatementPathIds {
  std::vector<PairPathIds> pairs;
};

struct PathEncoderState {
  // Flattened structure of the batch: path k belongs to pair path_pair[k], pair m to
  // statement pair_statement[m]; pairs and paths keep the input order.
  std::vector<int> path_pair, pair_statement;
  std::vector<int> pair_begin, path_begin;           // (S+1), (M+1) offsets into pairs / paths
  std::vector<int32_t> step_concept, step_relation;  // (K*T) table rows per LSTM step; -1 = none
  int concept_rows = 0, relation_rows = 0;           // Nc, Nr: the table gradients' shapes
  LstmState lstm;
  encoder::Matrix statements;  // (S, Hs) the input, kept for the query gradients
  encoder::Matrix path_query;  // (S, P) q
  encoder::Matrix pair_query;  // (S, P) r
  encoder::Matrix pair_vecs;   // (M, P) u
  encoder::Matrix output;      // (S, P)
  // Explanations: α per path (K), β per pair (M), in input order. They sum to 1 within a
  // pair / a statement, except β = 0 for pairs without paths.
  std::vector<float> path_attention, pair_attention;

  // α of path `path` of pair `pair` of statement `statement` (indices as in the input).
  float PathAttention(int statement, int pair, int path) const;
  float PairAttention(int statement, int pair) const;
};

class PathEncoder {
 public:
  // Registers the tensors listed above in *arena (which must outlive the encoder).
  PathEncoder(const PathEncoderConfig& config, encoder::ParamArena* arena, const std::string& prefix = "paths");

  // LSTM as lstm.h's Init; attention queries N(0, 0.02) with zero biases.
  void Init(uint64_t seed);

  // concepts (Nc, De), relations (Nr, Dr), statements (S, Hs) with S == batch.size().
  // Throws kInvalidArgument naming the statement/pair/path for an id outside its table or a
  // path whose relation count is not its concept count - 1 (or that has no concept), and
  // the input for a width that disagrees with the config.
  void Forward(const encoder::Matrix& concepts, const encoder::Matrix& relations, const encoder::Matrix& statements,
               const std::vector<StatementPathIds>& batch, PathEncoderState* state) const;
  // d_output (S, P). d_concepts (Nc, De), d_relations (Nr, Dr): scatter-added per use,
  // zero for unused rows; d_statements (S, Hs). Each may be null.
  void Backward(PathEncoderState* state, const encoder::Matrix& d_output, encoder::Matrix* d_concepts,
                encoder::Matrix* d_relations, encoder::Matrix* d_statements);

  const PathEncoderConfig& config() const { return config_; }
  int output_width() const { return lstm_.output_width(); }  // P

 private:
  PathEncoderConfig config_;
  encoder::ParamArena* arena_;
  Lstm lstm_;
  encoder::Linear path_query_, pair_query_;  // (P, Hs) each
};

}  // namespace spade::fusion
