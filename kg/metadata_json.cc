#include "kg/metadata_json.h"

#include "data/error.h"

namespace spade::kg {

nlohmann::json MetadataToJson(const KgMetadata& meta) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const InputInfo& in : meta.inputs) {
    inputs.push_back({{"path", in.path},
                      {"format", in.format},
                      {"sha256", in.sha256},
                      {"rows", in.rows},
                      {"bad_rows", in.bad_rows},
                      {"skipped", in.skipped},
                      {"assertions", in.assertions},
                      {"negated", in.negated}});
  }
  return {{"format_version", meta.format_version},
          {"relation_schema", meta.relation_schema},
          {"concepts", meta.concepts},
          {"edges", meta.edges},
          {"negated_edges", meta.negated_edges},
          {"relations", meta.relation_counts},
          {"inputs", inputs},
          {"built_at", meta.built_at},
          {"build_seconds", meta.build_seconds}};
}

KgMetadata MetadataFromJson(const nlohmann::json& j) {
  try {
    KgMetadata m;
    m.format_version = j.at("format_version").get<int>();
    m.relation_schema = j.at("relation_schema").get<std::string>();
    m.concepts = j.at("concepts").get<uint64_t>();
    m.edges = j.at("edges").get<uint64_t>();
    m.negated_edges = j.at("negated_edges").get<uint64_t>();
    m.relation_counts = j.at("relations").get<std::map<std::string, uint64_t>>();
    for (const auto& in : j.at("inputs")) {
      InputInfo info;
      info.path = in.at("path").get<std::string>();
      info.format = in.at("format").get<std::string>();
      info.sha256 = in.at("sha256").get<std::string>();
      info.rows = in.at("rows").get<uint64_t>();
      info.bad_rows = in.at("bad_rows").get<uint64_t>();
      info.skipped = in.at("skipped").get<uint64_t>();
      info.assertions = in.at("assertions").get<uint64_t>();
      info.negated = in.at("negated").get<uint64_t>();
      m.inputs.push_back(std::move(info));
    }
    m.built_at = j.at("built_at").get<std::string>();
    m.build_seconds = j.at("build_seconds").get<double>();
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw Corruption(std::string("KG metadata: ") + e.what());
  }
}

}  // namespace spade::kg
