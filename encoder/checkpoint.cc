#include "encoder/checkpoint.h"

#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "encoder/safetensors.h"

namespace spade::encoder {
namespace {

bool IsTrunk(const std::string& name) {
  return name.rfind("embeddings.", 0) == 0 || name.rfind("encoder.", 0) == 0 || name.rfind("pooler", 0) == 0 ||
         name.rfind("embeddings_project.", 0) == 0;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Candidate file names for one arena name, most preferred first.
std::vector<std::string> FileNames(const std::string& name, const std::string& prefix) {
  std::vector<std::string> base = {name};
  if (name.find("LayerNorm.") != std::string::npos) {
    if (EndsWith(name, ".weight")) base.push_back(name.substr(0, name.size() - 7) + ".gamma");
    if (EndsWith(name, ".bias")) base.push_back(name.substr(0, name.size() - 5) + ".beta");
  }
  std::vector<std::string> out;
  for (const auto& b : base) {
    if (IsTrunk(name)) out.push_back(prefix + b);
    out.push_back(b);
  }
  return out;
}

bool IsTiedCopy(const std::string& file_name) {
  return EndsWith(file_name, "predictions.decoder.weight") || EndsWith(file_name, "predictions.decoder.bias") ||
         file_name == "generator_lm_head.weight";
}

}  // namespace

std::string ModelPrefix(Arch arch) { return ArchName(arch) + "."; }

std::string HeadsToArchitecture(const EncoderConfig& c, const HeadsConfig& h) {
  switch (c.arch) {
    case Arch::kBert:
      if (h.multiple_choice) return "BertForMultipleChoice";
      if (h.mlm && h.sentence == SentenceHead::kNsp) return "BertForPreTraining";
      if (h.mlm) return "BertForMaskedLM";
      if (h.sentence == SentenceHead::kClassification) return "BertForSequenceClassification";
      return "BertModel";
    case Arch::kAlbert:
      if (h.multiple_choice) return "AlbertForMultipleChoice";
      if (h.mlm && h.sentence == SentenceHead::kSop) return "AlbertForPreTraining";
      if (h.mlm) return "AlbertForMaskedLM";
      if (h.sentence == SentenceHead::kClassification) return "AlbertForSequenceClassification";
      return "AlbertModel";
    case Arch::kElectra:
      if (h.multiple_choice) return "ElectraForMultipleChoice";
      if (h.sentence == SentenceHead::kClassification) return "ElectraForSequenceClassification";
      if (h.rtd) return "ElectraForPreTraining";
      if (h.mlm) return "ElectraForMaskedLM";
      return "ElectraModel";
  }
  return "BertModel";
}

LoadReport LoadWeights(const SafetensorsFile& file, Model* model, const LoadOptions& opt) {
  ParamArena& arena = model->params();
  const std::string prefix = ModelPrefix(model->config().arch);
  std::unordered_set<std::string> used;
  LoadReport report;
  // Stage into a copy so a failure leaves the model unchanged.
  std::vector<float> staged(arena.values(), arena.values() + arena.size());
  for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
    const ParamInfo& p = arena.info(id);
    const TensorEntry* t = nullptr;
    for (const auto& candidate : FileNames(p.name, prefix)) {
      if ((t = file.Find(candidate)) != nullptr) break;
    }
    if (!t) {
      // The pooler is optional too: *ForMaskedLM classes save none (add_pooling_layer=False).
      if ((!IsTrunk(p.name) || p.name.rfind("pooler", 0) == 0) && opt.allow_missing_heads) {
        report.missing_heads.push_back(p.name);
        continue;
      }
      throw Error(ErrorCode::kNotFound, file.source() + ": missing tensor '" + (IsTrunk(p.name) ? prefix : "") +
                                            p.name + "' (shape " +
                                            ShapeString(p.is_vector ? std::vector<int64_t>{p.cols}
                                                                    : std::vector<int64_t>{p.rows, p.cols}) +
                                            ")");
    }
    used.insert(t->name);
    const std::vector<int64_t> shape =
        p.is_vector ? std::vector<int64_t>{p.cols} : std::vector<int64_t>{p.rows, p.cols};
    std::vector<float> v = file.ReadFloat(*t, shape);
    std::copy(v.begin(), v.end(), staged.begin() + static_cast<std::ptrdiff_t>(p.offset));
  }
  std::copy(staged.begin(), staged.end(), arena.values());
  for (const auto& t : file.header().tensors) {
    if (!used.count(t.name) && !IsTiedCopy(t.name)) report.unused.push_back(t.name);
  }
  return report;
}

void SaveWeights(const Model& model, const std::string& path, const std::vector<TensorToWrite>& extra) {
  const ParamArena& arena = model.params();
  const std::string prefix = ModelPrefix(model.config().arch);
  std::vector<TensorToWrite> out;
  for (const ParamInfo& p : arena.params()) {
    TensorToWrite t;
    t.name = (IsTrunk(p.name) ? prefix : "") + p.name;
    t.shape = p.is_vector ? std::vector<int64_t>{p.cols} : std::vector<int64_t>{p.rows, p.cols};
    t.data = arena.values() + p.offset;
    out.push_back(std::move(t));
  }
  out.insert(out.end(), extra.begin(), extra.end());
  WriteSafetensors(path, out, {{"format", "pt"}});
}

std::unique_ptr<Model> LoadModelDir(const std::string& dir, const HeadsConfig& heads, const LoadOptions& opt,
                                    LoadReport* report) {
  const EncoderConfig c = LoadConfigJson(dir + "/config.json");
  auto model = std::make_unique<Model>(c, heads);
  model->Init(0);
  const SafetensorsFile file = SafetensorsFile::Open(dir + "/model.safetensors");
  LoadReport r = LoadWeights(file, model.get(), opt);
  if (report) *report = std::move(r);
  return model;
}

void SaveModelDir(const Model& model, const std::string& dir, const std::vector<TensorToWrite>& extra) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::kIOError, dir + ": cannot create directory: " + ec.message());
  WriteFileAtomic(dir + "/config.json", ConfigToJson(model.config(), HeadsToArchitecture(model.config(), model.heads())));
  SaveWeights(model, dir + "/model.safetensors", extra);
}

}  // namespace spade::encoder
