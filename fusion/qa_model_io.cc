#include "fusion/qa_model_io.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/sha256.h"
#include "encoder/checkpoint.h"
#include "encoder/error.h"
#include "encoder/safetensors.h"

namespace spade::fusion {

using encoder::Error;
using encoder::ErrorCode;
using nlohmann::ordered_json;

namespace {

constexpr int kProbes = 64;
constexpr float kProbeTolerance = 1e-3f;

ordered_json IdentityJson(const KgIdentity& k) {
  return {{"names_sha256", k.names_sha256}, {"concepts", k.concepts},     {"relations", k.relations},
          {"transe_dim", k.transe_dim},     {"probe_names", k.probe_names}, {"probe_vectors", k.probe_vectors},
          {"description", k.description}};
}

KgIdentity IdentityFromJson(const nlohmann::json& j) {
  KgIdentity k;
  k.names_sha256 = j.at("names_sha256").get<std::string>();
  k.concepts = j.at("concepts").get<size_t>();
  k.relations = j.at("relations").get<size_t>();
  k.transe_dim = j.at("transe_dim").get<int>();
  k.probe_names = j.at("probe_names").get<std::vector<std::string>>();
  k.probe_vectors = j.at("probe_vectors").get<std::vector<float>>();
  k.description = j.value("description", "");
  return k;
}

ordered_json ModelConfigJson(const QaModelConfig& c) {
  return {{"fusion_layers", c.fusion_layers},     {"entity_heads", c.entity_heads},
          {"fusion_intermediate", c.fusion_intermediate}, {"use_paths", c.use_paths},
          {"path_hidden", c.path_hidden},         {"use_kg_features", c.use_kg_features},
          {"kg_features", c.kg_features},         {"dropout", c.dropout}};
}

QaModelConfig ModelConfigFromJson(const nlohmann::json& j) {
  QaModelConfig c;
  c.fusion_layers = j.at("fusion_layers").get<int>();
  c.entity_heads = j.at("entity_heads").get<int>();
  c.fusion_intermediate = j.at("fusion_intermediate").get<int>();
  c.use_paths = j.at("use_paths").get<bool>();
  c.path_hidden = j.at("path_hidden").get<int>();
  c.use_kg_features = j.at("use_kg_features").get<bool>();
  c.kg_features = j.at("kg_features").get<int>();
  c.dropout = j.at("dropout").get<float>();
  return c;
}

}  // namespace

KgIdentity ComputeKgIdentity(const kg::Graph& graph, const kg::TransE* transe) {
  KgIdentity k;
  Sha256 sha;
  for (size_t c = 0; c < graph.num_concepts(); ++c) {
    sha.Update(graph.concept_name(static_cast<kg::ConceptId>(c)));
    sha.Update("\n");
  }
  sha.Update("\n");
  for (size_t r = 0; r < graph.num_relations(); ++r) {
    sha.Update(graph.relation_name(static_cast<kg::RelationId>(r)));
    sha.Update("\n");
  }
  k.names_sha256 = sha.HexDigest();
  k.concepts = graph.num_concepts();
  k.relations = graph.num_relations();
  if (transe && !transe->empty() && transe->num_concepts() == graph.num_concepts()) {
    k.transe_dim = transe->dim();
    const size_t n = std::min<size_t>(kProbes, graph.num_concepts());
    for (size_t i = 0; i < n; ++i) {
      const auto c = static_cast<kg::ConceptId>(i * graph.num_concepts() / n);
      k.probe_names.push_back(graph.concept_name(c));
      const auto v = transe->concept_vector(c);
      k.probe_vectors.insert(k.probe_vectors.end(), v.begin(), v.end());
    }
  }
  k.description = std::to_string(k.concepts) + " concepts, " + std::to_string(k.relations) + " relations, " +
                  (k.transe_dim ? "TransE " + std::to_string(k.transe_dim) + "-d" : std::string("no embeddings")) +
                  ", names sha256 " + k.names_sha256.substr(0, 12);
  return k;
}

void CheckKgCompatible(const KgIdentity& model, const KgIdentity& kg, const std::string& where) {
  if (model.names_sha256 != kg.names_sha256) {
    throw Error(ErrorCode::kInvalidArgument,
                where + ": the model was trained with another KG (" + model.description + ") than this one (" +
                    kg.description + "); use the KG it was trained with or retrain with `spade train --kg`");
  }
  if (model.transe_dim == 0) return;  // the model reads no vectors
  if (kg.transe_dim != model.transe_dim) {
    throw Error(ErrorCode::kInvalidArgument,
                where + ": the model reads " + std::to_string(model.transe_dim) + "-d TransE vectors, the KG has " +
                    (kg.transe_dim ? std::to_string(kg.transe_dim) + "-d ones" : std::string("none")) +
                    "; run `spade kg embed --threads 1 --seed 1 --epochs 50`");
  }
  float worst = 0;
  const size_t D = static_cast<size_t>(model.transe_dim);
  for (size_t i = 0; i < model.probe_names.size() && i < kg.probe_names.size(); ++i) {
    for (size_t d = 0; d < D; ++d) {
      worst = std::max(worst, std::abs(model.probe_vectors[i * D + d] - kg.probe_vectors[i * D + d]));
    }
  }
  if (!(worst <= kProbeTolerance)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", static_cast<double>(worst));
    throw Error(ErrorCode::kInvalidArgument,
                where + ": the KG's TransE vectors are not the ones the model was trained with (max |difference| " +
                    buf + " over " + std::to_string(model.probe_names.size()) +
                    " probe concepts); remake them with `spade kg embed --threads 1 --seed 1 --epochs 50`");
  }
}

void SaveQaModel(const QaModel& model, const encoder::TextTokenizer& tok, const QaModelInfo& info,
                 const std::string& dir) {
  // One model.safetensors: the encoder's tensors under their published names, then ours.
  std::vector<encoder::TensorToWrite> fusion;
  const encoder::ParamArena& a = model.fusion_params();
  for (const encoder::ParamInfo& p : a.params()) {
    fusion.push_back({p.name, p.is_vector ? std::vector<int64_t>{p.cols} : std::vector<int64_t>{p.rows, p.cols},
                      a.values() + p.offset});
  }
  encoder::SaveModelDir(model.encoder_model(), dir, fusion);
  encoder::CopyTokenizerFiles(tok, dir);
  ordered_json j = {{"format", "spade-qa-model"},
                    {"version", 1},
                    {"model", ModelConfigJson(info.model)},
                    {"examples", {{"max_seq", info.examples.max_seq},
                                  {"max_paths_per_pair", info.examples.max_paths_per_pair},
                                  {"max_pairs", info.examples.max_pairs}}},
                    {"kg", IdentityJson(info.kg)},
                    {"note", info.note}};
  encoder::WriteFileAtomic(dir + "/spade.json", j.dump(1) + "\n");
}

LoadedQaModel LoadQaModel(const std::string& dir, const kg::TransE* transe, const KgIdentity& kg) {
  const std::string meta_path = dir + "/spade.json";
  std::ifstream in(meta_path);
  if (!in) {
    throw Error(ErrorCode::kNotFound, meta_path + ": no QA model here (an encoder directory? train one with "
                                                  "`spade train --init ENCODER_DIR`)");
  }
  LoadedQaModel out;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    if (j.value("format", "") != "spade-qa-model") {
      throw Error(ErrorCode::kCorruption, meta_path + ": \"format\" is not \"spade-qa-model\"");
    }
    if (j.value("version", 0) != 1) {
      throw Error(ErrorCode::kCorruption, meta_path + ": version " + std::to_string(j.value("version", 0)) +
                                              " (this spade reads version 1)");
    }
    out.info.model = ModelConfigFromJson(j.at("model"));
    const auto& e = j.at("examples");
    out.info.examples.max_seq = e.at("max_seq").get<int>();
    out.info.examples.max_paths_per_pair = e.at("max_paths_per_pair").get<size_t>();
    out.info.examples.max_pairs = e.at("max_pairs").get<size_t>();
    out.info.kg = IdentityFromJson(j.at("kg"));
    out.info.note = j.value("note", "");
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kCorruption, meta_path + ": malformed or missing field (" +
                                            std::string(e.what()).substr(0, std::string(e.what()).find(']') + 1) +
                                            ")");
  }
  CheckKgCompatible(out.info.kg, kg, dir);
  auto enc = encoder::LoadModelDir(dir, encoder::HeadsConfig{});
  out.model = std::make_unique<QaModel>(std::move(enc), transe, out.info.model);
  const encoder::SafetensorsFile file = encoder::SafetensorsFile::Open(dir + "/model.safetensors");
  encoder::ParamArena& a = out.model->fusion_params();
  for (int id = 0; id < static_cast<int>(a.params().size()); ++id) {
    const encoder::ParamInfo& p = a.info(id);
    const encoder::TensorEntry* t = file.Find(p.name);
    if (!t) throw Error(ErrorCode::kCorruption, dir + "/model.safetensors: no tensor '" + p.name + "'");
    const std::vector<float> v =
        file.ReadFloat(*t, p.is_vector ? std::vector<int64_t>{p.cols} : std::vector<int64_t>{p.rows, p.cols});
    std::copy(v.begin(), v.end(), a.values() + p.offset);
  }
  out.tok = encoder::LoadTextTokenizer(dir);
  return out;
}

}  // namespace spade::fusion
