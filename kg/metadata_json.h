// KgMetadata <-> JSON, the form stored under key "Mmetadata" and printed by `spade kg stats --json`.
#pragma once

#include <nlohmann/json.hpp>

#include "kg/store.h"

namespace spade::kg {

nlohmann::json MetadataToJson(const KgMetadata& meta);
// Throws spade::Error kCorruption naming the missing or mistyped field.
KgMetadata MetadataFromJson(const nlohmann::json& j);

}  // namespace spade::kg
