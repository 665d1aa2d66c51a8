#include "encoder/distill.h"

#include <cmath>
#include <limits>
#include <utility>

namespace spade::encoder {
namespace {

void CheckPair(const char* loss, const Matrix& student, const Matrix& teacher, const std::vector<float>& rows) {
  if (student.rows() != teacher.rows() || student.cols() != teacher.cols()) {
    ThrowShapeMismatch(std::string(loss) + ": student vs teacher", {teacher.rows(), teacher.cols()},
                       {student.rows(), student.cols()});
  }
  if (!rows.empty() && static_cast<Eigen::Index>(rows.size()) != student.rows()) {
    ThrowShapeMismatch(std::string(loss) + ": row mask", {student.rows()}, {static_cast<int64_t>(rows.size())});
  }
}

bool Counted(const std::vector<float>& rows, Eigen::Index r) {
  return rows.empty() || rows[static_cast<size_t>(r)] != 0.0f;
}

int64_t CountRows(const std::vector<float>& rows, Eigen::Index n) {
  if (rows.empty()) return n;
  int64_t c = 0;
  for (float w : rows) c += w != 0.0f;
  return c;
}

// log_softmax(x / T) of one row, in double.
void LogSoftmax(const float* x, Eigen::Index n, double inv_t, std::vector<double>* out) {
  out->resize(static_cast<size_t>(n));
  double mx = -std::numeric_limits<double>::infinity();
  for (Eigen::Index j = 0; j < n; ++j) mx = std::max(mx, x[j] * inv_t);
  double sum = 0;
  for (Eigen::Index j = 0; j < n; ++j) sum += std::exp(x[j] * inv_t - mx);
  const double lse = mx + std::log(sum);
  for (Eigen::Index j = 0; j < n; ++j) (*out)[static_cast<size_t>(j)] = x[j] * inv_t - lse;
}

enum class SoftForm { kKl, kCrossEntropy };

// Shared by the two soft-target losses: they differ only in the value (KL subtracts the
// teacher's entropy) and in DistilBERT's T² factor; the gradient is softmax_s - softmax_t.
float SoftTargets(const char* name, SoftForm form, const Matrix& student, const Matrix& teacher, float temperature,
                  const std::vector<float>& rows, Matrix* d_student) {
  CheckPair(name, student, teacher, rows);
  if (!(temperature > 0.0f)) {
    throw Error(ErrorCode::kInvalidArgument, std::string(name) + ": temperature must be positive, got " +
                                                 std::to_string(temperature));
  }
  const Eigen::Index R = student.rows(), V = student.cols();
  d_student->setZero(R, V);
  const int64_t count = CountRows(rows, R);
  if (count == 0) return 0.0f;
  const double inv_t = 1.0 / temperature;
  // KL * T^2: d/ds = T^2 * (p_s - p_t) / T = T (p_s - p_t); CE: (p_s - p_t) / T.
  const double scale = form == SoftForm::kKl ? static_cast<double>(temperature) * temperature : 1.0;
  const double grad_scale = scale * inv_t / static_cast<double>(count);
  std::vector<double> ls, lt;
  double total = 0;
  for (Eigen::Index r = 0; r < R; ++r) {
    if (!Counted(rows, r)) continue;
    LogSoftmax(student.row(r).data(), V, inv_t, &ls);
    LogSoftmax(teacher.row(r).data(), V, inv_t, &lt);
    double row_loss = 0;
    for (Eigen::Index j = 0; j < V; ++j) {
      const size_t k = static_cast<size_t>(j);
      const double pt = std::exp(lt[k]);
      row_loss += form == SoftForm::kKl ? (pt > 0 ? pt * (lt[k] - ls[k]) : 0.0) : -pt * ls[k];
      (*d_student)(r, j) = static_cast<float>(grad_scale * (std::exp(ls[k]) - pt));
    }
    total += row_loss;
  }
  return static_cast<float>(scale * total / static_cast<double>(count));
}

}  // namespace

float SoftTargetKl(const Matrix& student, const Matrix& teacher, float temperature, const std::vector<float>& rows,
                   Matrix* d_student) {
  return SoftTargets("soft-target KL", SoftForm::kKl, student, teacher, temperature, rows, d_student);
}

float SoftCrossEntropy(const Matrix& student, const Matrix& teacher, float temperature,
                       const std::vector<float>& rows, Matrix* d_student) {
  return SoftTargets("soft cross-entropy", SoftForm::kCrossEntropy, student, teacher, temperature, rows, d_student);
}

float CosineEmbeddingLoss(const Matrix& student, const Matrix& teacher, const std::vector<float>& rows,
                          Matrix* d_student) {
  CheckPair("cosine embedding loss", student, teacher, rows);
  const Eigen::Index R = student.rows();
  d_student->setZero(R, student.cols());
  const int64_t count = CountRows(rows, R);
  if (count == 0) return 0.0f;
  constexpr double kEps = 1e-12;  // torch's EPSILON in cosine_embedding_loss
  double total = 0;
  for (Eigen::Index r = 0; r < R; ++r) {
    if (!Counted(rows, r)) continue;
    const auto s = student.row(r).cast<double>();
    const auto t = teacher.row(r).cast<double>();
    const double dot = s.dot(t), ss = s.squaredNorm() + kEps, tt = t.squaredNorm() + kEps;
    const double denom = std::sqrt(ss * tt), cos = dot / denom;
    total += 1.0 - cos;
    // d(1 - cos)/ds = -(t / denom - cos * s / ss)
    d_student->row(r) = (-(t / denom - s * (cos / ss)) / static_cast<double>(count)).cast<float>();
  }
  return static_cast<float>(total / static_cast<double>(count));
}

float MseLoss(const Matrix& student, const Matrix& teacher, const std::vector<float>& rows, Matrix* d_student) {
  CheckPair("MSE loss", student, teacher, rows);
  const Eigen::Index R = student.rows(), C = student.cols();
  d_student->setZero(R, C);
  const int64_t count = CountRows(rows, R);
  if (count == 0 || C == 0) return 0.0f;
  const double n = static_cast<double>(count) * static_cast<double>(C);
  double total = 0;
  for (Eigen::Index r = 0; r < R; ++r) {
    if (!Counted(rows, r)) continue;
    const auto diff = (student.row(r).cast<double>() - teacher.row(r).cast<double>()).eval();
    total += diff.squaredNorm();
    d_student->row(r) = (diff * (2.0 / n)).cast<float>();
  }
  return static_cast<float>(total / n);
}

HiddenProjection::HiddenProjection(int student_width, int teacher_width) {
  if (student_width <= 0 || teacher_width <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "hidden projection: widths must be positive, got " +
                                                 std::to_string(student_width) + " -> " + std::to_string(teacher_width));
  }
  if (student_width != teacher_width) linear_ = AddLinear(arena_, "fit_dense", student_width, teacher_width);
  linear_.in = student_width;
  linear_.out = teacher_width;
  arena_.Allocate();
}

void HiddenProjection::Init(float stddev, uint64_t seed) {
  if (identity()) return;
  arena_.InitNormal(linear_.weight, stddev, seed);
  arena_.Fill(linear_.bias, 0.0f);
}

void HiddenProjection::Forward(const Matrix& x, Matrix* y) const {
  if (identity()) {
    if (x.cols() != linear_.in) ThrowShapeMismatch("hidden projection input", {x.rows(), linear_.in}, {x.rows(), x.cols()});
    *y = x;
    return;
  }
  LinearForward(arena_, linear_, x, y);
}

void HiddenProjection::Backward(const Matrix& x, const Matrix& dy, Matrix* dx) {
  if (identity()) {
    *dx = dy;
    return;
  }
  LinearBackward(arena_, linear_, x, dy, dx);
}

float HiddenProjection::Mse(const Matrix& student, const Matrix& teacher, const std::vector<float>& rows,
                            Matrix* d_student) {
  Matrix y, dy;
  Forward(student, &y);
  const float loss = MseLoss(y, teacher, rows, &dy);
  Backward(student, dy, d_student);
  return loss;
}

int TeacherLayerFor(int m, int student_layers, int teacher_layers) {
  if (student_layers < 1 || student_layers > teacher_layers) {
    throw Error(ErrorCode::kInvalidArgument, "layer mapping: the student's " + std::to_string(student_layers) +
                                                 " layers must be between 1 and the teacher's " +
                                                 std::to_string(teacher_layers));
  }
  if (m < 0 || m > student_layers) {
    throw Error(ErrorCode::kInvalidArgument, "layer mapping: student layer " + std::to_string(m) +
                                                 " is outside [0, " + std::to_string(student_layers) + "]");
  }
  return static_cast<int>(static_cast<int64_t>(m) * teacher_layers / student_layers);
}

namespace {

// "encoder.layer.{i}.rest" -> i and the position of "rest"; -1 for tensors outside layers.
int LayerIndex(const std::string& name, size_t* rest) {
  static const std::string kPrefix = "encoder.layer.";
  if (name.rfind(kPrefix, 0) != 0) return -1;
  const size_t dot = name.find('.', kPrefix.size());
  if (dot == std::string::npos) return -1;
  *rest = dot;
  return std::stoi(name.substr(kPrefix.size(), dot - kPrefix.size()));
}

}  // namespace

std::vector<int> InitStudentFromTeacher(const Model& teacher, Model* student) {
  const EncoderConfig& tc = teacher.config();
  const EncoderConfig& sc = student->config();
  if (tc.arch != sc.arch || tc.arch == Arch::kAlbert) {
    throw Error(ErrorCode::kInvalidArgument, "student initialisation from the teacher: needs two BERT or two ELECTRA "
                                             "models, got teacher " + ArchName(tc.arch) + ", student " +
                                                 ArchName(sc.arch));
  }
  const int M = sc.num_hidden_layers, N = tc.num_hidden_layers;
  if (M > N) {
    throw Error(ErrorCode::kInvalidArgument, "student initialisation from the teacher: the student has more layers (" +
                                                 std::to_string(M) + ") than the teacher (" + std::to_string(N) + ")");
  }
  std::vector<int> source(static_cast<size_t>(M));
  for (int i = 0; i < M; ++i) source[static_cast<size_t>(i)] = static_cast<int>(static_cast<int64_t>(i) * N / M);
  const ParamArena& ta = teacher.params();
  ParamArena& sa = student->params();
  std::vector<std::pair<int, int>> copies;  // (student id, teacher id), all checked first
  for (int id = 0; id < static_cast<int>(sa.params().size()); ++id) {
    const ParamInfo& p = sa.info(id);
    size_t rest = 0;
    std::string name = p.name;
    const int layer = LayerIndex(p.name, &rest);
    if (layer >= 0) name = "encoder.layer." + std::to_string(source[static_cast<size_t>(layer)]) + p.name.substr(rest);
    const int tid = ta.Find(name);
    if (tid < 0) {
      throw Error(ErrorCode::kInvalidArgument, "student initialisation from the teacher: the teacher has no '" + name +
                                                   "' for the student's '" + p.name + "'");
    }
    const ParamInfo& q = ta.info(tid);
    if (q.rows != p.rows || q.cols != p.cols) {
      ThrowShapeMismatch("student initialisation from the teacher: student '" + p.name + "' vs teacher '" + name + "'",
                         {q.rows, q.cols}, {p.rows, p.cols});
    }
    copies.emplace_back(id, tid);
  }
  for (const auto& [id, tid] : copies) sa.Value(id) = ta.Value(tid);
  return source;
}

}  // namespace spade::encoder
