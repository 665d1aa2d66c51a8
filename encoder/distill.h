// Knowledge distillation losses (DistilBERT, TinyBERT) and student initialisation, usable
// alone (general distillation in distill_task.h) or by any task-specific distillation: each
// loss is a forward that returns the loss and writes d loss / d student input(s); the
// teacher side is a constant (no gradient).
//
// Shape letters (tensor.h): R rows scored (tokens), V vocabulary, N = B*T token rows,
// H teacher hidden width, Hs student hidden width. `rows` masks are (R) or (N) vectors of
// 0/1 weights (1 = the row counts); an empty mask means every row counts. A loss over zero
// counted rows is 0 with a zero gradient.
//
// Which form each loss takes, and why:
//   SoftTargetKl        DistilBERT's loss_ce: KLDiv(log_softmax(s/T), softmax(t/T)) with
//                       reduction "batchmean" (sum over V, mean over counted rows), times T².
//                       The KL form (not CE): it is 0 when the student matches the teacher,
//                       and its gradient equals the soft cross-entropy's.
//   SoftCrossEntropy    TinyBERT's prediction-layer loss: -sum_v softmax(t/T) log_softmax(s/T),
//                       mean over counted rows (TinyBERT's code also divides by V; a constant).
//   CosineEmbeddingLoss DistilBERT's loss_cos: mean over counted rows of 1 - cos(s_r, t_r)
//                       (torch.nn.CosineEmbeddingLoss with target 1; its eps 1e-12 inside the
//                       norms).
//   MseLoss             torch.nn.MSELoss(reduction "mean"): sum of squares over the counted
//                       rows' elements / (counted rows * columns). TinyBERT's embedding,
//                       hidden-state and attention losses (through HiddenProjection for the
//                       hidden states; on Encoder::AttentionScores for attention, which
//                       sets masked entries to 0 in both models as TinyBERT's code does).
// Losses throw Error(kInvalidArgument) naming the loss and both shapes when inputs disagree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "encoder/layers.h"
#include "encoder/model.h"
#include "encoder/params.h"

namespace spade::encoder {

// DistilBERT's loss weights (the training command of the DistilBERT paper / HF
// examples/research_projects/distillation: --alpha_ce 5.0 --alpha_mlm 2.0 --alpha_cos 1.0).
struct DistilBertWeights {
  float ce = 5.0f;   // soft-target KL at temperature T (times T²)
  float mlm = 2.0f;  // the student's own masked-LM cross-entropy
  float cos = 1.0f;  // cosine between last hidden states
};

// KL(softmax(teacher/T) || softmax(student/T)) * T², batchmean over counted rows.
// student, teacher (R, V); d_student (R, V) overwritten (0 at uncounted rows).
float SoftTargetKl(const Matrix& student, const Matrix& teacher, float temperature, const std::vector<float>& rows,
                   Matrix* d_student);

// -sum softmax(teacher/T) log softmax(student/T), mean over counted rows (no T² factor).
float SoftCrossEntropy(const Matrix& student, const Matrix& teacher, float temperature,
                       const std::vector<float>& rows, Matrix* d_student);

// Mean over counted rows of 1 - cos(student_r, teacher_r). student, teacher (N, H).
float CosineEmbeddingLoss(const Matrix& student, const Matrix& teacher, const std::vector<float>& rows,
                          Matrix* d_student);

// Mean squared error over the counted rows' elements. student, teacher (R, C).
float MseLoss(const Matrix& student, const Matrix& teacher, const std::vector<float>& rows, Matrix* d_student);

// TinyBERT's W_h ("fit_dense" in its code, y = x W^T + b, W (H, Hs)): maps student states to
// the teacher's width. ONE projection serves the embedding output and every layer, as in
// TinyBERT's released code (the paper writes a separate W_e; the code shares fit_dense).
// When Hs == H the projection is the identity and owns no parameters.
// Thread-safety: none; Backward accumulates into params().
class HiddenProjection {
 public:
  HiddenProjection(int student_width, int teacher_width);
  HiddenProjection(const HiddenProjection&) = delete;
  HiddenProjection& operator=(const HiddenProjection&) = delete;

  bool identity() const { return linear_.weight < 0; }
  // N(0, stddev) weights, zero bias (BERT's initialisation).
  void Init(float stddev, uint64_t seed);
  // y (N, H) = x (N, Hs) W^T + b.
  void Forward(const Matrix& x, Matrix* y) const;
  // Accumulates dW, db for the input x of Forward; writes dx (N, Hs).
  void Backward(const Matrix& x, const Matrix& dy, Matrix* dx);
  // MseLoss(Forward(student), teacher) and its gradient d_student (N, Hs) in one call.
  float Mse(const Matrix& student, const Matrix& teacher, const std::vector<float>& rows, Matrix* d_student);

  ParamArena& params() { return arena_; }
  const ParamArena& params() const { return arena_; }

 private:
  ParamArena arena_;  // "fit_dense.weight" (H, Hs), "fit_dense.bias" (H); empty when identity
  Linear linear_;
};

// TinyBERT's layer mapping g(m) = floor(m * N / M) for m = 0..M: student layer m (1-based)
// learns from teacher layer g(m) (1-based); m = 0 is the embedding layer, 0 <-> 0, and
// g(M) = N. With N % M == 0 this is TinyBERT's uniform strategy (its code's
// teacher_atts[i*k + k-1], teacher_reps[i*k]). Throws kInvalidArgument unless
// 1 <= M <= N and 0 <= m <= M.
int TeacherLayerFor(int m, int student_layers, int teacher_layers);

// Initialises the student from the teacher where their widths match (DistilBERT): every
// tensor outside the layers (embeddings, pooler, heads) is copied, and student layer i
// (0-based) takes teacher layer floor(i * N / M) — teacher layers 0, 2, 4, ... for a
// half-depth student, the paper's "one layer out of two". (DistilBERT's extraction script
// hard-codes [0, 2, 4, 7, 9, 11] for 12 -> 6, keeping the last layer; not followed here.)
// Returns, per student layer,
// the teacher layer copied. Both models must be BERT or ELECTRA (one parameter set per
// layer) of the same architecture; every student tensor must exist in the teacher with the
// same shape. Throws kInvalidArgument naming the first tensor that differs, leaving the
// student unchanged.
std::vector<int> InitStudentFromTeacher(const Model& teacher, Model* student);

}  // namespace spade::encoder
