// The QA model that ships in data/models/qa (tools/make_models.sh): it is the documented
// shape, records the default KG's identity, loads (against that identity), and scores a
// question. The default KG itself is not built here (the quick start builds it); its
// compatibility check is covered by qa_train_test and answer_cli_test.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "fusion/qa_model_io.h"

namespace spade::fusion {
namespace {

const std::string kDir = std::string(SPADE_SOURCE_DIR) + "/data/models/qa";

TEST(ShippedQaModel, IsTheDocumentedModelAndScores) {
  std::ifstream in(kDir + "/spade.json");
  ASSERT_TRUE(in) << kDir;
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["format"], "spade-qa-model");
  EXPECT_EQ(j["model"]["fusion_layers"], 2);
  EXPECT_EQ(j["model"]["use_paths"], true);
  EXPECT_EQ(j["model"]["use_kg_features"], true);
  EXPECT_EQ(j["kg"]["concepts"], 218734);
  EXPECT_EQ(j["kg"]["transe_dim"], 100);
  // Load against the identity it records, with vectors whose probe rows are those recorded.
  KgIdentity id;
  id.names_sha256 = j["kg"]["names_sha256"];
  id.concepts = j["kg"]["concepts"];
  id.relations = j["kg"]["relations"];
  id.transe_dim = 100;
  id.probe_names = j["kg"]["probe_names"].get<std::vector<std::string>>();
  id.probe_vectors = j["kg"]["probe_vectors"].get<std::vector<float>>();
  kg::TransE transe(id.concepts, id.relations, 100, 1, 1.0f, 1);
  LoadedQaModel m = LoadQaModel(kDir, &transe, id);
  EXPECT_EQ(m.model->encoder_model().config().hidden_size, 128);
  // One question, two choices, no KG evidence: finite, different scores from the encoder.
  QaExample ex;
  ex.source = "test";
  ex.label = 0;
  for (const char* choice : {"shovel", "spoon"}) {
    QaChoice c;
    const std::vector<int32_t> q = m.tok.encode("What did I dig with?"), a = m.tok.encode(choice);
    c.ids.push_back(m.tok.cls_id);
    c.ids.insert(c.ids.end(), q.begin(), q.end());
    c.ids.push_back(m.tok.sep_id);
    c.ids.insert(c.ids.end(), a.begin(), a.end());
    c.ids.push_back(m.tok.sep_id);
    c.type_ids.assign(c.ids.size(), 0);
    c.entity.assign(c.ids.size(), -1);
    c.kg_features.assign(static_cast<size_t>(m.info.model.kg_features), 0.0f);
    ex.choices.push_back(c);
  }
  QaBatchState st;
  const float loss = m.model->Forward({&ex}, false, 0, &st);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NE(st.scores(0, 0), st.scores(0, 1));
}

}  // namespace
}  // namespace spade::fusion
