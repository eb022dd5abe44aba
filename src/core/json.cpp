#include "digitnet/core/json.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"

namespace digitnet {

std::size_t json_depth(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

namespace {

template <class Json>
Json parse_within(std::string_view text, const std::string& what, JsonLimits limits) {
  if (text.size() > limits.max_bytes)
    throw Error(fmt::format("{}: {} bytes of JSON; at most {} are read", what, text.size(), limits.max_bytes));
  if (const std::size_t depth = json_depth(text); depth > limits.max_depth)
    throw Error(fmt::format("{}: JSON nested {} deep; at most {} levels are read", what, depth, limits.max_depth));
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann's message names the byte and the token; the id prefix is noise
    std::string why = e.what();
    if (const auto at = why.find("] "); at != std::string::npos) why = why.substr(at + 2);
    throw Error(fmt::format("{}: not valid JSON ({})", what, why));
  }
}

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& what, JsonLimits limits) {
  return parse_within<nlohmann::json>(text, what, limits);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& what, JsonLimits limits) {
  return parse_within<nlohmann::ordered_json>(text, what, limits);
}

}  // namespace digitnet
