// Generates a synthetic ConceptNet 5 assertions dump (.csv.gz) in the official five-column
// layout, with ConceptNet 5.7's English relation mix, Zipf-distributed concept popularity,
// part-of-speech and /wn/ sense suffixes, surfaceText json, and rows in other languages.
// The real English part has 3.4M edges among 34M rows; generate at least that many.
//
//   gen_conceptnet5 OUT.csv.gz [ENGLISH_ROWS=3500000] [OTHER_ROWS=2500000] [SEED=1]
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

// ConceptNet 5.7 English edge counts by relation (thousands), rounded.
const std::pair<const char*, double> kMix[] = {
    {"RelatedTo", 1703}, {"FormOf", 378}, {"DerivedFrom", 325}, {"HasContext", 232}, {"IsA", 230},
    {"Synonym", 222},    {"EtymologicallyDerivedFrom", 71},      {"UsedFor", 40},   {"EtymologicallyRelatedTo", 32},
    {"SimilarTo", 30},   {"AtLocation", 27},  {"HasSubevent", 25}, {"HasPrerequisite", 23}, {"CapableOf", 22},
    {"Antonym", 19},     {"Causes", 16},      {"PartOf", 13},    {"MannerOf", 12},  {"MotivatedByGoal", 9},
    {"HasProperty", 9},  {"ReceivesAction", 6}, {"HasA", 5},     {"CausesDesire", 5}, {"DistinctFrom", 3},
    {"HasFirstSubevent", 3}, {"Desires", 3},  {"NotDesires", 3}, {"HasLastSubevent", 2}, {"MadeOf", 1},
    {"InstanceOf", 1},   {"dbpedia/genre", 1}, {"CreatedBy", 0.3}, {"LocatedNear", 0.05}, {"NotCapableOf", 0.3}};

const char* kSyllables[] = {"ka", "lo", "mi", "ter", "an", "sh", "ov", "el", "ro", "pa", "de", "ni", "tu", "ble",
                            "gar", "den", "ho", "use", "fl", "ow", "er", "st", "ing", "ed", "ion", "qu", "ar", "ly"};
const char* kLanguages[] = {"fr", "de", "es", "ja", "it", "ru", "pt", "zh", "nl", "fi"};
const char* kPos[] = {"", "", "", "/n", "/v", "/a", "/n/wn/artifact", "/v/wn/contact", "/n/wn/food"};

std::string Word(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> n(1, 4), s(0, sizeof kSyllables / sizeof *kSyllables - 1);
  std::string w;
  for (int i = n(rng); i > 0; --i) w += kSyllables[s(rng)];
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gen_conceptnet5 OUT.csv.gz [ENGLISH_ROWS] [OTHER_ROWS] [SEED]\n");
    return 2;
  }
  long english = argc > 2 ? std::atol(argv[2]) : 3500000;
  long other = argc > 3 ? std::atol(argv[3]) : 2500000;
  std::mt19937_64 rng(argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1);

  // A vocabulary of 1.1M English concepts (ConceptNet has about that many), 1-3 words each.
  const size_t kVocab = 1100000;
  std::vector<std::string> vocab;
  vocab.reserve(kVocab);
  std::uniform_int_distribution<int> words(1, 10);
  for (size_t i = 0; i < kVocab; ++i) {
    int w = words(rng);
    std::string c = Word(rng) + std::to_string(i % 1000);
    if (w > 7) c += "_" + Word(rng);
    if (w > 9) c += "_" + Word(rng);
    vocab.push_back(c);
  }
  // Zipf-like popularity: index = floor(V * u^3) favours low indices heavily.
  std::uniform_real_distribution<double> u(0, 1);
  auto pick_concept = [&] { return vocab[static_cast<size_t>(kVocab * std::pow(u(rng), 3.0)) % kVocab]; };
  std::vector<double> weights;
  for (const auto& [name, k] : kMix) weights.push_back(k);
  std::discrete_distribution<size_t> rel(weights.begin(), weights.end());
  std::uniform_int_distribution<size_t> pos(0, sizeof kPos / sizeof *kPos - 1), lang(0, 9);
  std::uniform_int_distribution<int> wpick(0, 9);

  gzFile out = gzopen(argv[1], "wb1");
  if (!out) {
    std::perror(argv[1]);
    return 1;
  }
  gzbuffer(out, 1 << 20);
  std::string line;
  long total = english + other;
  std::uniform_int_distribution<long> which(0, total - 1);
  long en_left = english, other_left = other;
  for (long i = 0; i < total; ++i) {
    bool is_en = which(rng) < english ? en_left > 0 : other_left == 0;
    (is_en ? en_left : other_left)--;
    const char* r = kMix[rel(rng)].first;
    std::string h = pick_concept(), t = pick_concept();
    if (h == t) t += "_x";
    std::string hl = "en", tl = "en";
    if (!is_en) {
      hl = kLanguages[lang(rng)];
      if (wpick(rng) < 5) tl = kLanguages[lang(rng)];
    }
    std::string hs = "/c/" + hl + "/" + h + kPos[pos(rng)];
    std::string ts = "/c/" + tl + "/" + t + (wpick(rng) < 3 ? kPos[pos(rng)] : "");
    double w = wpick(rng) < 7 ? 1.0 : 0.5 + 4.0 * u(rng);
    line = "/a/[/r/";
    line += r;
    line += "/," + hs + "/," + ts + "/]\t/r/" + r + "\t" + hs + "\t" + ts +
            "\t{\"dataset\": \"/d/conceptnet/4/" + hl +
            "\", \"license\": \"cc:by/4.0\", \"sources\": [{\"activity\": "
            "\"/s/activity/omcs/omcs1_possibly_free_text\", \"contributor\": \"/s/contributor/omcs/u" +
            std::to_string(i % 5000) + "\"}], \"surfaceText\": ";
    line += wpick(rng) < 4 ? "\"[[" + h + "]] is related to [[" + t + "]]\"" : "null";
    char wbuf[64];
    std::snprintf(wbuf, sizeof wbuf, ", \"weight\": %.6g}\n", w);
    line += wbuf;
    gzwrite(out, line.data(), static_cast<unsigned>(line.size()));
  }
  if (gzclose(out) != Z_OK) {
    std::fprintf(stderr, "%s: write failed\n", argv[1]);
    return 1;
  }
  std::printf("wrote %s: %ld English rows, %ld rows in other languages\n", argv[1], english, other);
  return 0;
}
