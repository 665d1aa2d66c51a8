// Key encoding of the RocksDB layout (kg/FORMAT.md). Internal to kg/.
// Ids are big-endian so that byte order equals numeric order and prefix scans come out
// sorted; weights are IEEE-754 float32, little-endian.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "kg/graph.h"

namespace spade::kg::keys {

inline constexpr char kConceptByName = 'C';  // C name            -> id (u32 BE)
inline constexpr char kBlob = 'E';           // E name            -> bytes
inline constexpr char kNegated = 'G';        // G head rel tail   -> weight
inline constexpr char kConceptById = 'I';    // I id              -> name
inline constexpr char kMeta = 'M';           // M key             -> value
inline constexpr char kIn = 'N';             // N tail rel head   -> weight
inline constexpr char kOut = 'O';            // O head rel tail   -> weight
inline constexpr char kRelation = 'R';       // R rel (u16 BE)    -> name

inline constexpr std::string_view kMagicKey = "Mmagic";
inline constexpr std::string_view kMagic = "spade-kg";
inline constexpr std::string_view kVersionKey = "Mformat_version";
inline constexpr std::string_view kMetadataKey = "Mmetadata";

inline void PutU32(std::string* s, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  s->append(b, 4);
}
inline void PutU16(std::string* s, uint16_t v) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  s->append(b, 2);
}
inline uint32_t GetU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}
inline uint16_t GetU16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

// Tag + a (u32) + rel (u16) + b (u32): 11 bytes.
inline std::string EdgeKey(char tag, ConceptId a, RelationId rel, ConceptId b) {
  std::string k(1, tag);
  k.reserve(11);
  PutU32(&k, a);
  PutU16(&k, rel);
  PutU32(&k, b);
  return k;
}
inline std::string IdKey(char tag, uint32_t id) {
  std::string k(1, tag);
  PutU32(&k, id);
  return k;
}

inline std::string EncodeWeight(float w) {
  uint32_t bits;
  std::memcpy(&bits, &w, 4);
  char b[4] = {static_cast<char>(bits), static_cast<char>(bits >> 8), static_cast<char>(bits >> 16),
               static_cast<char>(bits >> 24)};
  return std::string(b, 4);
}
inline float DecodeWeight(std::string_view v) {
  if (v.size() != 4) return 0.0f;
  const auto* u = reinterpret_cast<const unsigned char*>(v.data());
  uint32_t bits = uint32_t{u[0]} | (uint32_t{u[1]} << 8) | (uint32_t{u[2]} << 16) | (uint32_t{u[3]} << 24);
  float w;
  std::memcpy(&w, &bits, 4);
  return w;
}

}  // namespace spade::kg::keys
