// read_pixels_json: what a predict body in JSON may be, and which message each fault gets.
#include "pixels_json.hpp"

#include <string>

#include <gtest/gtest.h>

namespace digitnet::cli {
namespace {

std::string error_of(const std::string& body) { return read_pixels_json(body, 4, 2, 2).error; }

TEST(PixelsJson, ReadsTheValuesAsFloats) {
  const auto p = read_pixels_json(R"({"pixels": [0, 0.5, 1, 0.1]})", 4, 2, 2);
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.pixels, (std::vector<float>{0.0f, 0.5f, 1.0f, 0.1f}));
}

TEST(PixelsJson, SkipsOtherMembersHoweverTheyNest) {
  const auto p = read_pixels_json(R"({"id": {"a": [1, [2, {"b": null}]]}, "pixels": [1, 1, 0, 0], "x": "y"})", 4, 2, 2);
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.pixels, (std::vector<float>{1, 1, 0, 0}));
}

TEST(PixelsJson, NamesWhatIsWrong) {
  EXPECT_EQ(error_of(R"({"pixels": [0.1)"), "the body is not valid JSON");
  EXPECT_EQ(error_of(R"({"pixels": [0, 0, 0, 0]} trailing)"), "the body is not valid JSON");
  EXPECT_EQ(error_of(""), "the body is not valid JSON");
  EXPECT_EQ(error_of(R"({"image": []})"), "expected {\"pixels\": [...]}");
  EXPECT_EQ(error_of(R"([0, 0, 0, 0])"), "expected {\"pixels\": [...]}");
  EXPECT_EQ(error_of(R"({"pixels": 5})"), "expected {\"pixels\": [...]}");
  EXPECT_EQ(error_of(R"({"pixels": {"a": 1}})"), "expected {\"pixels\": [...]}");
  EXPECT_EQ(error_of(R"({"pixels": [0, 0, 0, 0], "pixels": [0, 0, 0, 0]})"), "expected {\"pixels\": [...]}");
  EXPECT_EQ(error_of(R"({"pixels": [0.1, 0.2]})"), "pixels has 2 values; this model takes 4 (2x2)");
  EXPECT_EQ(error_of(R"({"pixels": [7, 0, 0, 0, 0]})"), "pixels has 5 values; this model takes 4 (2x2)");
  EXPECT_EQ(error_of(R"({"pixels": [7, 0, 0, 0]})"), "pixels must be numbers in 0..1");
  EXPECT_EQ(error_of(R"({"pixels": [-0.5, 0, 0, 0]})"), "pixels must be numbers in 0..1");
  EXPECT_EQ(error_of(R"({"pixels": ["0", 0, 0, 0]})"), "pixels must be numbers in 0..1");
  EXPECT_EQ(error_of(R"({"pixels": [[0], 0, 0, 0]})"), "pixels must be numbers in 0..1");
  EXPECT_EQ(error_of(R"({"pixels": [null, true, 0, 0]})"), "pixels must be numbers in 0..1");
}

TEST(PixelsJson, StopsAtTheDepthLimitBeforeReadingFurther) {
  // As deep as allowed: read (and refused for its shape, not its depth).
  std::string ok = "{\"a\": " + std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']') + "}";
  EXPECT_EQ(error_of(ok), "expected {\"pixels\": [...]}");
  // One level deeper, and a megabyte of it: refused at the first level too many.
  EXPECT_EQ(error_of(std::string(kMaxJsonDepth + 1, '[')), "the JSON is nested deeper than 32 levels");
  EXPECT_EQ(error_of(std::string(1 << 20, '[')), "the JSON is nested deeper than 32 levels");
  EXPECT_EQ(error_of("{\"pixels\": " + std::string(1 << 20, '[')), "the JSON is nested deeper than 32 levels");
}

TEST(PixelsJson, CountsEveryValueOfALongArray) {
  std::string many = "{\"pixels\": [0";
  for (int i = 0; i < 100000; ++i) many += ",0";
  many += "]}";
  const auto p = read_pixels_json(many, 4, 2, 2);
  EXPECT_EQ(p.error, "pixels has 100001 values; this model takes 4 (2x2)");
}

}  // namespace
}  // namespace digitnet::cli
