// JSON from outside is parsed within limits: a deep document is one line, not a stack overflow.
#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/core/json.hpp"

namespace digitnet {
namespace {

TEST(Json, DepthCountsBracketsOutsideStrings) {
  EXPECT_EQ(json_depth("1"), 0u);
  EXPECT_EQ(json_depth(R"({"a": [1, {"b": []}]})"), 4u);
  EXPECT_EQ(json_depth(R"({"a": "[[[[{{{{", "b": "\"[["})"), 1u);
  EXPECT_EQ(json_depth(R"(["\\", [[]]])"), 3u);
}

TEST(Json, DeepOrLargeDocumentsAreRefusedBeforeParsing) {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  try {
    parse_json(deep, "config");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "config: JSON nested 100000 deep; at most 64 levels are read");
  }
  EXPECT_THROW(parse_ordered_json(std::string(80'000, '{'), "grid.json"), Error);
  EXPECT_THROW(parse_json(std::string(100, ' '), "x", {.max_bytes = 10}), Error);
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_NO_THROW(parse_json(ok, "x"));
}

TEST(Json, InvalidJsonNamesTheDocument) {
  try {
    parse_json("{\"a\": 3", "grid.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("grid.json: not valid JSON (", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace digitnet
