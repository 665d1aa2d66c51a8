#include "fusion/qa_example.h"

#include <algorithm>

#include "encoder/error.h"
#include "fusion/mention_align.h"

namespace spade::fusion {

using encoder::Error;
using encoder::ErrorCode;

namespace {

// Mentions whose span lies in `text` and reads as their surface (question_concept mentions
// are spans of the data set's field, not of the stem, and are left out of the alignment).
std::vector<retrieval::Mention> InText(const std::vector<retrieval::Mention>& ms, std::string_view text) {
  std::vector<retrieval::Mention> out;
  for (const auto& m : ms) {
    if (m.end <= text.size() && m.begin < m.end && text.substr(m.begin, m.end - m.begin) == m.surface) {
      out.push_back(m);
    }
  }
  return out;
}

}  // namespace

QaExample BuildQaExample(const data::McqItem& item, const retrieval::QuestionResult& scored,
                         const retrieval::KgScorerWeights& weights, const encoder::TextTokenizer& tok,
                         const QaExampleOptions& options) {
  if (tok.cls_id < 0 || tok.sep_id < 0) {
    throw Error(ErrorCode::kInvalidArgument, item.source + ": the tokenizer has no [CLS]/[SEP] tokens");
  }
  if (options.max_seq < 5) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("max_seq ").append(std::to_string(options.max_seq)).append(" < 5: no room for "
                                                                                        "[CLS] q [SEP] a [SEP]"));
  }
  if (scored.choices.size() != item.choices.size()) {
    throw Error(ErrorCode::kInvalidArgument, std::string(item.source).append(": scored ")
                                                 .append(std::to_string(scored.choices.size()))
                                                 .append(" choices, the item has ")
                                                 .append(std::to_string(item.choices.size())));
  }
  QaExample ex;
  ex.id = item.id;
  ex.source = item.source;
  ex.label = item.answer_index();
  for (size_t c = 0; c < item.choices.size(); ++c) {
    const retrieval::ChoiceResult& cr = scored.choices[c];
    if (cr.text != item.choices[c].text) {
      throw Error(ErrorCode::kInvalidArgument, std::string(item.source).append(": scored choice ")
                                                   .append(std::to_string(c)).append(" is '").append(cr.text)
                                                   .append("', the item's is '").append(item.choices[c].text)
                                                   .append("'"));
    }
    const std::vector<retrieval::Mention> qm = InText(cr.question_concepts, item.stem);
    const std::vector<retrieval::Mention> am = InText(cr.answer_concepts, cr.text);
    const AlignedText q = AlignMentions(item.stem, qm, tok.encode);
    const AlignedText a = AlignMentions(cr.text, am, tok.encode);
    // The answer keeps up to half the room (more when the question is short); the question
    // is cut from its end to fit.
    const int budget = options.max_seq - 3;
    const int a_len = std::min<int>(static_cast<int>(a.ids.size()),
                                    std::max(budget / 2, budget - static_cast<int>(q.ids.size())));
    const int q_len = std::min<int>(static_cast<int>(q.ids.size()), budget - a_len);
    QaChoice ch;
    ch.ids.push_back(tok.cls_id);
    ch.ids.insert(ch.ids.end(), q.ids.begin(), q.ids.begin() + q_len);
    ch.ids.push_back(tok.sep_id);
    const int a_begin = static_cast<int>(ch.ids.size());
    ch.ids.insert(ch.ids.end(), a.ids.begin(), a.ids.begin() + a_len);
    ch.ids.push_back(tok.sep_id);
    ch.type_ids.assign(ch.ids.size(), 0);
    std::fill(ch.type_ids.begin() + a_begin, ch.type_ids.end(), 1);
    ch.entity.assign(ch.ids.size(), -1);
    ch.dropped_mentions = q.dropped_overlapping + q.dropped_truncated + a.dropped_overlapping + a.dropped_truncated;
    const auto place = [&](const AlignedText& t, const std::vector<retrieval::Mention>& ms, int len, int offset) {
      for (const AlignedMention& am : t.aligned) {
        if (am.token >= len) {
          ++ch.dropped_mentions;
          continue;
        }
        ch.entity[static_cast<size_t>(offset + am.token)] = static_cast<int32_t>(ms[am.mention].concept_id);
      }
    };
    place(q, qm, q_len, 1);
    place(a, am, a_len, a_begin);
    // Paths grouped by (question concept, answer concept), pairs in order of their best path.
    for (const retrieval::Path& p : cr.top_paths) {
      if (p.concepts.size() < 2) continue;
      const kg::ConceptId qc = p.concepts.front(), ac = p.concepts.back();
      auto it = std::find_if(ch.pairs.begin(), ch.pairs.end(),
                             [&](const QaPathPair& x) { return x.question == qc && x.answer == ac; });
      if (it == ch.pairs.end()) {
        if (ch.pairs.size() >= options.max_pairs) continue;
        ch.pairs.push_back({qc, ac, {}});
        it = std::prev(ch.pairs.end());
      }
      if (it->paths.size() < options.max_paths_per_pair) it->paths.push_back(p);
    }
    ch.kg_features.resize(cr.features.size());
    for (size_t f = 0; f < cr.features.size(); ++f) {
      const double mean = f < weights.mean.size() ? weights.mean[f] : 0.0;
      const double scale = f < weights.scale.size() && weights.scale[f] > 0 ? weights.scale[f] : 1.0;
      ch.kg_features[f] = static_cast<float>((cr.features[f] - mean) / scale);
    }
    ex.choices.push_back(std::move(ch));
  }
  return ex;
}

}  // namespace spade::fusion
