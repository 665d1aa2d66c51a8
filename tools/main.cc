// spade: build a knowledge graph, answer commonsense questions, evaluate QA accuracy.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <CLI/CLI.hpp>

#include "tools/commands.h"

namespace spade::tools {

std::string SpadeHome() {
  if (const char* home = std::getenv("SPADE_HOME"); home && *home) return home;
  const char* user_home = std::getenv("HOME");
  return std::string(user_home && *user_home ? user_home : ".") + "/.local/share/spade";
}

std::string DefaultKgDir() { return SpadeHome() + "/kg"; }

}  // namespace spade::tools

int main(int argc, char** argv) {
  CLI::App app{"spade: commonsense question answering with a knowledge graph beside a transformer"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "spade 0.1.0");
  int rc = 0;
  spade::tools::RegisterKgCommands(app, &rc);
  spade::tools::RegisterCorpusCommands(app, &rc);
  spade::tools::RegisterRetrievalCommands(app, &rc);
  spade::tools::RegisterAnswerCommands(app, &rc);
  spade::tools::RegisterEncoderCommands(app, &rc);
  spade::tools::RegisterLmCommands(app, &rc);
  spade::tools::RegisterPretrainCommands(app, &rc);
  spade::tools::RegisterDistillCommands(app, &rc);
  spade::tools::RegisterProbeCommands(app, &rc);
  spade::tools::RegisterTrainCommands(app, &rc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints usage or the parse error
    return code == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spade: error: %s\n", e.what());
    return 1;
  }
  return rc;
}
