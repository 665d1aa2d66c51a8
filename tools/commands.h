// Each file tools/cmd_*.cc registers the `spade` subcommands of one user job.
// A subcommand's callback maps flags to the library's config structs, calls the library
// and stores its exit code in *rc (0 ok, 1 failure); spade::Error escapes to main().
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace spade::tools {

// $SPADE_HOME (default ~/.local/share/spade) and the default KG directory inside it.
std::string SpadeHome();
std::string DefaultKgDir();

void RegisterKgCommands(CLI::App& app, int* rc);
void RegisterCorpusCommands(CLI::App& app, int* rc);
void RegisterRetrievalCommands(CLI::App& app, int* rc);
void RegisterAnswerCommands(CLI::App& app, int* rc);
void RegisterEncoderCommands(CLI::App& app, int* rc);
void RegisterLmCommands(CLI::App& app, int* rc);
void RegisterPretrainCommands(CLI::App& app, int* rc);
void RegisterDistillCommands(CLI::App& app, int* rc);
void RegisterProbeCommands(CLI::App& app, int* rc);
void RegisterTrainCommands(CLI::App& app, int* rc);

}  // namespace spade::tools
