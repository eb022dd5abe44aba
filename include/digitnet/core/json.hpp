#pragma once
// JSON from outside (model configs, checkpoints, sweep grids, HTTP bodies, Python): parsed
// only within limits on its size and on how deep its arrays and objects nest. The parser
// recurses once per level, so a document nested 100,000 deep would overflow the stack; it is
// refused with one line before parsing instead.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace digitnet {

struct JsonLimits {
  std::size_t max_bytes = 64 << 20;
  std::size_t max_depth = 64;  // digitnet's own files nest 4 deep
};

// Throws Error naming `what` for a document over the limits or not valid JSON.
nlohmann::json parse_json(std::string_view text, const std::string& what, JsonLimits limits = {});
nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& what, JsonLimits limits = {});
// How deep text's arrays and objects nest (brackets inside strings do not count).
std::size_t json_depth(std::string_view text);

}  // namespace digitnet
