#pragma once
// The body of POST /api/predict as JSON, {"pixels": [v, ...]}, read from nlohmann's parse events:
// no document tree is built, nesting deeper than kMaxJsonDepth stops the parse at once, and at
// most `inputs` values are kept, so any body costs memory for the model's input and no more.
#include <string>
#include <string_view>
#include <vector>

namespace digitnet::cli {

constexpr int kMaxJsonDepth = 32;

struct PixelsJson {
  std::vector<float> pixels;  // `inputs` values in 0..1 when error is empty
  std::string error;          // why the body was refused (one line, for {"error": ...})
};

// The model takes `inputs` = height * width values; the shape only words the error.
PixelsJson read_pixels_json(std::string_view body, int inputs, int height, int width);

}  // namespace digitnet::cli
