#include "pixels_json.hpp"

#include <cstdint>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace digitnet::cli {
namespace {

using json = nlohmann::json;

// Follows the parse events with a depth count: the top level must be an object, its "pixels"
// member an array, and that array's elements numbers in 0..1. Everything else in the object
// (other members, however they nest up to the depth limit) is skipped as it streams past.
class PixelsReader {
 public:
  explicit PixelsReader(int inputs) : inputs_(inputs) { pixels.reserve(inputs); }

  std::vector<float> pixels;
  std::size_t count = 0;  // elements of the pixels array (all of them, kept or not)
  bool syntax_error = false, too_deep = false, shape_error = false, value_error = false;
  bool have_pixels = false;

  bool null() { return scalar(false, 0); }
  bool boolean(bool) { return scalar(false, 0); }
  bool number_integer(json::number_integer_t v) { return scalar(true, static_cast<double>(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(true, static_cast<double>(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) { return scalar(true, v); }
  bool string(json::string_t&) { return scalar(false, 0); }
  bool binary(json::binary_t&) { return scalar(false, 0); }

  bool start_object(std::size_t) { return open(false); }
  bool start_array(std::size_t) { return open(true); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (depth_ == 1) pixels_next_ = k == "pixels";
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    syntax_error = true;
    return false;
  }

 private:
  // A value that is not a container: an element of pixels, the pixels member itself, or other.
  bool scalar(bool is_number, double v) {
    if (depth_ == 0 || std::exchange(pixels_next_, false)) shape_error = true;  // not {"pixels": [...]}
    else if (in_pixels_ && depth_ == 2) element(is_number && v >= 0 && v <= 1, v);
    return true;
  }
  bool open(bool is_array) {
    if (++depth_ > kMaxJsonDepth) {
      too_deep = true;
      return false;  // stops the parse before it holds any more
    }
    if (depth_ == 1 && is_array) shape_error = true;
    if (std::exchange(pixels_next_, false)) {
      if (!is_array || have_pixels) shape_error = true;  // "pixels" not an array, or given twice
      in_pixels_ = is_array;
      have_pixels = true;
    } else if (in_pixels_ && depth_ == 3) {
      element(false, 0);  // an array or object inside pixels
    }
    return true;
  }
  bool close() {
    if (depth_ == 2) in_pixels_ = false;
    --depth_;
    return true;
  }
  void element(bool ok, double v) {
    if (!ok) value_error = true;
    else if (count < static_cast<std::size_t>(inputs_)) pixels.push_back(static_cast<float>(v));
    ++count;
  }

  int inputs_;
  int depth_ = 0;
  bool pixels_next_ = false;  // the last key at the top level was "pixels"
  bool in_pixels_ = false;
};

}  // namespace

PixelsJson read_pixels_json(std::string_view body, int inputs, int height, int width) {
  PixelsReader r(inputs);
  json::sax_parse(body.begin(), body.end(), &r);
  // The order of the checks decides which message a body with several faults gets.
  const auto refuse = [](std::string why) { return PixelsJson{{}, std::move(why)}; };
  if (r.too_deep) return refuse(fmt::format("the JSON is nested deeper than {} levels", kMaxJsonDepth));
  if (r.syntax_error) return refuse("the body is not valid JSON");
  if (r.shape_error || !r.have_pixels) return refuse("expected {\"pixels\": [...]}");
  if (r.count != static_cast<std::size_t>(inputs))
    return refuse(fmt::format("pixels has {} values; this model takes {} ({}x{})", r.count, inputs, height, width));
  if (r.value_error) return refuse("pixels must be numbers in 0..1");
  return {std::move(r.pixels), {}};
}

}  // namespace digitnet::cli
